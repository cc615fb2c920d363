import { describeEachDatabase } from '../helpers/app';

describeEachDatabase(
  'CORS from CORS_ORIGINS',
  (current) => {
    it('answers a preflight from a listed origin and exposes the headers clients need', async () => {
      const res = await current()
        .request()
        .options('/api/v1/courses')
        .set('Origin', 'https://app.example')
        .set('Access-Control-Request-Method', 'POST')
        .set('Access-Control-Request-Headers', 'authorization,content-type');
      expect(res.status).toBe(204);
      expect(res.headers['access-control-allow-origin']).toBe('https://app.example');
      expect(res.headers['access-control-allow-methods']).toContain('POST');
      const simple = await current()
        .request()
        .get('/health/live')
        .set('Origin', 'https://app.example');
      expect(simple.headers['access-control-expose-headers']).toContain('X-Request-Id');
      expect(simple.headers['access-control-expose-headers']).toContain('ETag');
    });

    it('gives no CORS headers to an origin that is not listed', async () => {
      const res = await current()
        .request()
        .get('/health/live')
        .set('Origin', 'https://evil.example');
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
    });
  },
  { CORS_ORIGINS: 'https://app.example,https://admin.example' },
);

describeEachDatabase('no CORS by default', (current) => {
  it('sends no Access-Control headers when CORS_ORIGINS is unset', async () => {
    const res = await current().request().get('/health/live').set('Origin', 'https://app.example');
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
  });
});
