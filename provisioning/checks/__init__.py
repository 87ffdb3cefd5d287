"""The checks of `provision check`, one module per thing checked; `base` has what they share."""
