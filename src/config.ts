import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';

/** Everything the process reads from its environment, checked once at start. */
export interface Config {
  port: number;
  host: string;
  databaseUrl: string;
  nodeEnv: string;
  isProduction: boolean;
  logLevel: string;
  jwtSecret: Uint8Array;
  jwtSecretGenerated: boolean;
  jwtIssuer: string;
  jwtAudience: string;
  accessTokenTtl: number;
  refreshTokenTtl: number;
  sessionMaxAge: number;
  requireEmailVerification: boolean;
  smtpUrl: string | undefined;
  mailFrom: string;
  appBaseUrl: string;
  adminEmail: string | undefined;
  adminPassword: string | undefined;
  rateLimitPerMinute: number;
  rateLimitSensitivePerHour: number;
  loginMaxFailures: number;
  loginMaxFailuresPerDay: number;
  trustProxy: false | number | string;
  redisUrl: string | undefined;
  corsOrigins: string[];
  /** The Prometheus endpoint's own port; 0 when metrics are off. */
  metricsPort: number;
  /** Webhook targets may be `http` and resolve to non-public addresses (tests, private networks). */
  webhookAllowPrivateTargets: boolean;
  /** A webhook delivery attempt's time limit, in milliseconds. */
  webhookTimeoutMs: number;
  /** The key material webhook signing secrets are encrypted with; JWT_SECRET's when undefined. */
  webhookSecretKey: Uint8Array | undefined;
}

/** A bad or missing variable: the message is the one line printed before exiting. */
export class ConfigError extends Error {
  constructor(variable: string, problem: string) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const LOG_LEVELS = ['error', 'warn', 'info', 'http', 'verbose', 'debug', 'silly'];

function read(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === '' ? undefined : value;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) {
    throw new ConfigError(name, `must be between ${min} and ${max}, got ${value}`);
  }
  return value;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = read(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(name, `must be true or false, got "${raw}"`);
}

function url(env: Env, name: string, fallback: string | undefined, protocols: string[]) {
  const raw = read(env, name) ?? fallback;
  if (raw === undefined) return undefined;
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(name, 'is not a valid URL');
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(name, `must start with ${protocols.map((p) => `${p}//`).join(' or ')}`);
  }
  return raw;
}

const PROXY_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

/**
 * Express's `trust proxy`: false, a hop count, or the proxies' addresses, subnets and names. Not
 * `true`: trusting every hop makes the client's own leftmost X-Forwarded-For entry its address,
 * so any client could pick a fresh address, and a fresh rate limit, per request.
 */
function trustProxy(env: Env): false | number | string {
  const raw = read(env, 'TRUST_PROXY');
  if (raw === undefined || raw.toLowerCase() === 'false') return false;
  if (raw.toLowerCase() === 'true') {
    throw new ConfigError(
      'TRUST_PROXY',
      'true would let clients choose their own address with X-Forwarded-For; give the number of proxies in front (e.g. 1) or their addresses',
    );
  }
  if (/^\d+$/.test(raw)) return Number(raw);
  for (const part of raw.split(',').map((p) => p.trim())) {
    const [address, bits, extra] = part.split('/');
    const ip = isIP(address ?? '');
    const okBits =
      bits === undefined || (/^\d+$/.test(bits) && Number(bits) <= (ip === 4 ? 32 : 128));
    if (!(PROXY_NAMES.includes(part) || (ip !== 0 && okBits && extra === undefined))) {
      throw new ConfigError(
        'TRUST_PROXY',
        `must be false, a hop count, or addresses/subnets/${PROXY_NAMES.join('/')}; got "${part}"`,
      );
    }
  }
  return raw;
}

// The email format the contract's validator applies (ajv-formats' "email").
const EMAIL =
  /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/i;

export function loadConfig(env: Env = process.env): Config {
  const nodeEnv = read(env, 'NODE_ENV') ?? 'development';
  const isProduction = nodeEnv === 'production';

  const logLevel = read(env, 'LOG_LEVEL') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}`);
  }

  const databaseUrl = read(env, 'DATABASE_URL') ?? 'file:./data/opencourse.db';
  if (!/^(postgres|postgresql):\/\//.test(databaseUrl) && !databaseUrl.startsWith('file:')) {
    throw new ConfigError('DATABASE_URL', 'must start with postgres://, postgresql:// or file:');
  }

  const secret = read(env, 'JWT_SECRET');
  if (secret === undefined && isProduction) {
    throw new ConfigError('JWT_SECRET', 'is required when NODE_ENV=production');
  }
  if (secret !== undefined && Buffer.byteLength(secret) < 32) {
    throw new ConfigError('JWT_SECRET', 'must be at least 32 bytes long');
  }

  const adminEmail = read(env, 'ADMIN_EMAIL')?.toLowerCase();
  const adminPassword = read(env, 'ADMIN_PASSWORD');
  if (adminEmail !== undefined && (!EMAIL.test(adminEmail) || adminEmail.length > 254)) {
    throw new ConfigError('ADMIN_EMAIL', 'is not an email address');
  }
  if (adminEmail !== undefined && adminPassword === undefined) {
    throw new ConfigError('ADMIN_PASSWORD', 'is required when ADMIN_EMAIL is set');
  }
  if (adminPassword !== undefined && (adminPassword.length < 12 || adminPassword.length > 128)) {
    throw new ConfigError('ADMIN_PASSWORD', 'must be 12 to 128 characters');
  }

  // SMTP_URL carries the mail server's credentials; and without it, emails (with their links) would
  // be written to the log, which production must never do.
  if (isProduction && read(env, 'SMTP_URL') === undefined) {
    throw new ConfigError('SMTP_URL', 'is required when NODE_ENV=production');
  }

  const appBaseUrl = url(env, 'APP_BASE_URL', 'http://localhost:3000', ['http:', 'https:']) ?? '';

  const port = integer(env, 'PORT', 3000, 0, 65535);
  // Metrics are for the operator's network only: they never share the API's port.
  const metricsPort = integer(env, 'METRICS_PORT', 9464, 0, 65535);
  if (metricsPort !== 0 && metricsPort === port) {
    throw new ConfigError(
      'METRICS_PORT',
      `must differ from PORT (${port}), or be 0 to turn it off`,
    );
  }

  // Webhook signing secrets are stored encrypted with a key derived from it (services/secret-box.ts).
  const webhookSecretKey = read(env, 'WEBHOOK_SECRET_KEY');
  if (webhookSecretKey !== undefined && Buffer.byteLength(webhookSecretKey) < 32) {
    throw new ConfigError('WEBHOOK_SECRET_KEY', 'must be at least 32 bytes long');
  }

  return {
    port,
    host: read(env, 'HOST') ?? '0.0.0.0',
    databaseUrl,
    nodeEnv,
    isProduction,
    logLevel,
    jwtSecret: secret === undefined ? randomBytes(32) : new TextEncoder().encode(secret),
    jwtSecretGenerated: secret === undefined,
    jwtIssuer: read(env, 'JWT_ISSUER') ?? 'opencourse',
    jwtAudience: read(env, 'JWT_AUDIENCE') ?? 'opencourse',
    accessTokenTtl: integer(env, 'ACCESS_TOKEN_TTL', 900, 1, 86_400),
    refreshTokenTtl: integer(env, 'REFRESH_TOKEN_TTL', 30 * 86_400, 60, 365 * 86_400),
    sessionMaxAge: integer(env, 'SESSION_MAX_AGE', 90 * 86_400, 1, 10 * 365 * 86_400),
    requireEmailVerification: boolean(env, 'REQUIRE_EMAIL_VERIFICATION', false),
    smtpUrl: url(env, 'SMTP_URL', undefined, ['smtp:', 'smtps:']),
    mailFrom: read(env, 'MAIL_FROM') ?? 'OpenCourse <no-reply@localhost>',
    appBaseUrl: appBaseUrl.replace(/\/+$/, ''),
    adminEmail,
    adminPassword,
    rateLimitPerMinute: integer(env, 'RATE_LIMIT_PER_MINUTE', 600, 0, 1_000_000),
    rateLimitSensitivePerHour: integer(env, 'RATE_LIMIT_SENSITIVE_PER_HOUR', 10, 0, 1_000_000),
    loginMaxFailures: integer(env, 'LOGIN_MAX_FAILURES', 5, 1, 1000),
    loginMaxFailuresPerDay: integer(env, 'LOGIN_MAX_FAILURES_PER_DAY', 100, 1, 1_000_000),
    trustProxy: trustProxy(env),
    redisUrl: url(env, 'REDIS_URL', undefined, ['redis:', 'rediss:']),
    corsOrigins: (read(env, 'CORS_ORIGINS') ?? '')
      .split(',')
      .map((origin) => origin.trim())
      .filter(Boolean),
    metricsPort,
    webhookAllowPrivateTargets: boolean(env, 'WEBHOOK_ALLOW_PRIVATE_TARGETS', false),
    webhookTimeoutMs: integer(env, 'WEBHOOK_TIMEOUT_MS', 10_000, 100, 60_000),
    webhookSecretKey:
      webhookSecretKey === undefined ? undefined : new TextEncoder().encode(webhookSecretKey),
  };
}
