import { ConfigError, loadConfig } from '../../src/config';

describe('loadConfig', () => {
  it('applies the documented defaults with an empty environment', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 3000,
      host: '0.0.0.0',
      databaseUrl: 'file:./data/opencourse.db',
      nodeEnv: 'development',
      logLevel: 'info',
      jwtSecretGenerated: true,
      jwtIssuer: 'opencourse',
      jwtAudience: 'opencourse',
      accessTokenTtl: 900,
      refreshTokenTtl: 2_592_000,
      sessionMaxAge: 7_776_000,
      requireEmailVerification: false,
      smtpUrl: undefined,
      appBaseUrl: 'http://localhost:3000',
      rateLimitPerMinute: 600,
      rateLimitSensitivePerHour: 10,
      loginMaxFailures: 5,
      loginMaxFailuresPerDay: 100,
      trustProxy: false,
      corsOrigins: [],
      metricsPort: 9464,
    });
    expect(config.jwtSecret.byteLength).toBe(32);
  });

  it('reads every variable it is given', () => {
    const config = loadConfig({
      PORT: '8080',
      DATABASE_URL: 'postgres://u@db/x',
      JWT_SECRET: 'x'.repeat(32),
      REQUIRE_EMAIL_VERIFICATION: 'true',
      TRUST_PROXY: '1',
      CORS_ORIGINS: 'https://a.example, https://b.example',
      APP_BASE_URL: 'https://learn.example/',
      ADMIN_EMAIL: 'Root@Example.com',
      ADMIN_PASSWORD: 'a-long-enough-password',
    });
    expect(config.port).toBe(8080);
    expect(config.jwtSecretGenerated).toBe(false);
    expect(config.requireEmailVerification).toBe(true);
    expect(config.trustProxy).toBe(1);
    expect(config.corsOrigins).toEqual(['https://a.example', 'https://b.example']);
    expect(config.appBaseUrl).toBe('https://learn.example');
    expect(config.adminEmail).toBe('root@example.com');
  });

  it.each([
    ['False', false],
    ['2', 2],
    ['loopback, 10.0.0.0/8, ::1', 'loopback, 10.0.0.0/8, ::1'],
  ])('takes TRUST_PROXY=%j as Express does', (raw, expected) => {
    expect(loadConfig({ TRUST_PROXY: raw }).trustProxy).toEqual(expected);
  });

  it('turns metrics off with METRICS_PORT=0, even beside PORT=0', () => {
    expect(loadConfig({ METRICS_PORT: '0' }).metricsPort).toBe(0);
    expect(loadConfig({ METRICS_PORT: '0', PORT: '0' }).metricsPort).toBe(0);
    expect(loadConfig({ METRICS_PORT: '9100', PORT: '8080' }).metricsPort).toBe(9100);
  });

  it.each([
    [{ PORT: 'eighty' }, 'PORT: must be a whole number, got "eighty"'],
    [{ PORT: '70000' }, 'PORT: must be between 0 and 65535, got 70000'],
    [
      { DATABASE_URL: 'mysql://x' },
      'DATABASE_URL: must start with postgres://, postgresql:// or file:',
    ],
    [{ NODE_ENV: 'production' }, 'JWT_SECRET: is required when NODE_ENV=production'],
    [
      { NODE_ENV: 'production', JWT_SECRET: 'x'.repeat(32) },
      'SMTP_URL: is required when NODE_ENV=production',
    ],
    [{ JWT_SECRET: 'short' }, 'JWT_SECRET: must be at least 32 bytes long'],
    [
      { LOG_LEVEL: 'loud' },
      'LOG_LEVEL: must be one of error, warn, info, http, verbose, debug, silly',
    ],
    [
      { REQUIRE_EMAIL_VERIFICATION: 'maybe' },
      'REQUIRE_EMAIL_VERIFICATION: must be true or false, got "maybe"',
    ],
    [{ SMTP_URL: 'http://mail' }, 'SMTP_URL: must start with smtp:// or smtps://'],
    [{ APP_BASE_URL: 'not a url' }, 'APP_BASE_URL: is not a valid URL'],
    [{ ADMIN_EMAIL: 'admin@example.com' }, 'ADMIN_PASSWORD: is required when ADMIN_EMAIL is set'],
    [{ ADMIN_EMAIL: 'nobody' }, 'ADMIN_EMAIL: is not an email address'],
    [{ ADMIN_EMAIL: 'root@exa_mple.com' }, 'ADMIN_EMAIL: is not an email address'],
    [
      { TRUST_PROXY: 'yes' },
      'TRUST_PROXY: must be false, a hop count, or addresses/subnets/loopback/linklocal/uniquelocal; got "yes"',
    ],
    [
      { TRUST_PROXY: '10.0.0.0/99' },
      'TRUST_PROXY: must be false, a hop count, or addresses/subnets/loopback/linklocal/uniquelocal; got "10.0.0.0/99"',
    ],
    [
      { TRUST_PROXY: 'true' },
      'TRUST_PROXY: true would let clients choose their own address with X-Forwarded-For; give the number of proxies in front (e.g. 1) or their addresses',
    ],
    [{ SESSION_MAX_AGE: '0' }, 'SESSION_MAX_AGE: must be between 1 and 315360000, got 0'],
    [{ RATE_LIMIT_PER_MINUTE: '-1' }, 'RATE_LIMIT_PER_MINUTE: must be a whole number, got "-1"'],
    [{ METRICS_PORT: '65536' }, 'METRICS_PORT: must be between 0 and 65535, got 65536'],
    [
      { METRICS_PORT: '3000' },
      'METRICS_PORT: must differ from PORT (3000), or be 0 to turn it off',
    ],
    [{ PORT: '9464' }, 'METRICS_PORT: must differ from PORT (9464), or be 0 to turn it off'],
  ])('refuses %j with one line naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(
      new ConfigError(message.split(':')[0]!, message.slice(message.indexOf(':') + 2)),
    );
  });
});

describe('loadConfig: webhooks', () => {
  it('defaults to public https targets, a 10 s attempt, and no key of their own', () => {
    expect(loadConfig({})).toMatchObject({
      webhookAllowPrivateTargets: false,
      webhookTimeoutMs: 10_000,
      webhookSecretKey: undefined,
    });
  });

  it('reads WEBHOOK_ALLOW_PRIVATE_TARGETS, WEBHOOK_TIMEOUT_MS and WEBHOOK_SECRET_KEY', () => {
    const config = loadConfig({
      WEBHOOK_ALLOW_PRIVATE_TARGETS: 'true',
      WEBHOOK_TIMEOUT_MS: '2500',
      WEBHOOK_SECRET_KEY: 'k'.repeat(32),
    });
    expect(config.webhookAllowPrivateTargets).toBe(true);
    expect(config.webhookTimeoutMs).toBe(2500);
    expect(Buffer.from(config.webhookSecretKey!).toString()).toBe('k'.repeat(32));
  });

  it('refuses a short key, a time limit out of range and a flag that is not a boolean', () => {
    expect(() => loadConfig({ WEBHOOK_SECRET_KEY: 'short' })).toThrow(
      new ConfigError('WEBHOOK_SECRET_KEY', 'must be at least 32 bytes long'),
    );
    expect(() => loadConfig({ WEBHOOK_TIMEOUT_MS: '0' })).toThrow(/WEBHOOK_TIMEOUT_MS/);
    expect(() => loadConfig({ WEBHOOK_TIMEOUT_MS: '600000' })).toThrow(/WEBHOOK_TIMEOUT_MS/);
    expect(() => loadConfig({ WEBHOOK_ALLOW_PRIVATE_TARGETS: 'yes' })).toThrow(
      /WEBHOOK_ALLOW_PRIVATE_TARGETS/,
    );
  });
});
