-- pgvector: embeddings live in vector/halfvec columns (knowledge schema comes in later migrations).
CREATE EXTENSION IF NOT EXISTS vector;
