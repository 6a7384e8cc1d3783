// filled in by the unicode component
