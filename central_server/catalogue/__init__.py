"""The violation catalogue: behaviour code x vehicle class -> clause, fine range, points."""
