"""Evidence: the encoded video ring, the clip, the stills and the packet a violation becomes."""
