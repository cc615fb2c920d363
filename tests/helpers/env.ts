import { logger } from '../../src/logger';

// Tests run quietly; TEST_LOG_LEVEL=debug (say) shows the server's lines while debugging one.
process.env.NODE_ENV = 'test';
logger.level = process.env.TEST_LOG_LEVEL ?? 'error';
logger.silent = process.env.TEST_LOG_LEVEL === undefined;
