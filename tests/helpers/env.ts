// Tests run quietly; a failing test can raise LOG_LEVEL to see the server's lines.
process.env.LOG_LEVEL = process.env.TEST_LOG_LEVEL ?? 'error';
process.env.NODE_ENV = 'test';
