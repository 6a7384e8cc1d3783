// filled in by the encoder component
