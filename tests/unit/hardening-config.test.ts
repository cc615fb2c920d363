import { ConfigError, loadConfig } from '../../src/config';

/** The error loadConfig throws for `env`, or undefined when it accepts it. */
function errorOf(env: Record<string, string>): unknown {
  try {
    loadConfig(env);
    return undefined;
  } catch (err) {
    return err;
  }
}

describe('hardening: configuration', () => {
  it('TRUST_PROXY=true is refused at start: give a hop count or the proxies’ addresses', () => {
    for (const value of ['true', 'TRUE']) {
      const err = errorOf({ TRUST_PROXY: value });
      expect(err).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(/^TRUST_PROXY:/);
      // It says what to give instead: a hop count (the number of proxies in front) or addresses.
      expect((err as Error).message).toMatch(/hop|number of proxies/i);
    }
    // What stays allowed.
    expect(loadConfig({ TRUST_PROXY: '1' }).trustProxy).toBe(1);
    expect(loadConfig({ TRUST_PROXY: 'false' }).trustProxy).toBe(false);
    expect(loadConfig({ TRUST_PROXY: 'loopback' }).trustProxy).toBe('loopback');
  });

  it('SESSION_MAX_AGE is read, 90 days by default, and a bad value stops the start', () => {
    // Read through a plain record: the field is named `sessionMaxAge`, beside the other TTLs.
    const sessionMaxAge = (env: Record<string, string>) =>
      (loadConfig(env) as unknown as Record<string, unknown>).sessionMaxAge;
    expect(sessionMaxAge({})).toBe(7_776_000);
    expect(sessionMaxAge({ SESSION_MAX_AGE: '3600' })).toBe(3600);
    for (const value of ['abc', '0', '-5', '1.5']) {
      const err = errorOf({ SESSION_MAX_AGE: value });
      expect({ value, error: err instanceof ConfigError }).toEqual({ value, error: true });
      expect((err as Error).message).toMatch(/^SESSION_MAX_AGE:/);
    }
  });
});
