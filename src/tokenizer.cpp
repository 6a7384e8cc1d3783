// filled in by the tokenizer component
