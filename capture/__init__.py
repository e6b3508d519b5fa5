"""Audio in: decoding recorded files and (later) live capture of mic + system audio."""
