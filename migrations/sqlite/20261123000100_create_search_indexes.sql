-- Full-text word matches (name, title, description and package identifiers) per search document. The words
-- are split and folded in Rust, the same code that feeds PostgreSQL's tsvector, so the `ascii` tokenizer
-- only splits on the spaces between them. Contentless, without positions: only which documents hold a word
-- is needed.
create virtual table search_documents_words using fts5 (
    words,
    tokenize = 'ascii',
    content = '',
    detail = none
);

-- Substring search: trigrams of the folded name and title/description narrow a term of three or more
-- characters to candidate documents, which are then checked exactly against `search_documents`.
create virtual table search_documents_trigrams using fts5 (
    haystack,
    tokenize = 'trigram case_sensitive 1',
    content = '',
    detail = full
);
