DROP TABLE keys; DROP TYPE key_kind;
