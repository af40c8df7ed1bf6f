"""Local language models through llama.cpp (see runtime)."""
