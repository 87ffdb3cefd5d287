"""Size limits of the wire format (brokers cap messages; the server bounds its memory)."""

MAX_PACKET_BYTES = 8 * 1024 * 1024
MAX_PARTS = 6
MAX_HEADER_BYTES = 1024 * 1024
DEFAULT_CHUNK_SIZE = 256 * 1024
MAX_CHUNKS = 4096
MAX_SEALED_BYTES = 8 * 1024 * 1024
