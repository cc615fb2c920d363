// The floor: what a bare Express 5 + pg server costs for the same answers as the API's
// `GET /api/v1/courses/{id}` and `GET /api/v1/courses?limit=N` (published courses, newest first,
// keyset cursor). One raw SQL query per request; no validation, no authentication, no limits, no
// logging. scripts/bench.ts runs it beside the API and reports the API's figures against it.
//
// Environment: DATABASE_URL, PORT, HOST (127.0.0.1), POOL_MAX (the API's pool size).
// This file is transpiled on its own and run with plain node: it must import nothing relative.
import express, { type Request } from 'express';
import pg from 'pg';

const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL,
  max: Number(process.env.POOL_MAX ?? 10),
});
pool.on('error', () => undefined);

// The API's Course: the course's columns, its instructor's id and name, ISO timestamps.
const SELECT = `
  SELECT c.id, c.title, c.description, c.category, c.level, c.language, c.status, c.capacity,
         c.enrolled_count, c.lesson_count, c.total_duration_minutes, c.instructor_id,
         u.name AS instructor_name,
         c.created_at, c.updated_at, c.published_at
    FROM courses c JOIN users u ON u.id = c.instructor_id`;

interface CourseRow {
  id: string;
  title: string;
  description: string;
  category: string | null;
  level: string | null;
  language: string;
  status: string;
  capacity: number | null;
  enrolled_count: number;
  lesson_count: number;
  total_duration_minutes: number;
  instructor_id: string;
  instructor_name: string;
  created_at: Date;
  updated_at: Date;
  published_at: Date | null;
}

const toCourse = (row: CourseRow) => ({
  id: row.id,
  title: row.title,
  description: row.description,
  category: row.category,
  level: row.level,
  language: row.language,
  status: row.status,
  capacity: row.capacity,
  enrolledCount: row.enrolled_count,
  lessonCount: row.lesson_count,
  totalDurationMinutes: row.total_duration_minutes,
  instructor: { id: row.instructor_id, name: row.instructor_name },
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
  publishedAt: row.published_at?.toISOString() ?? null,
});

// The floor's own cursor: the last row's position, unsigned (a floor trusts its clients).
const encodeCursor = (row: CourseRow) =>
  Buffer.from(JSON.stringify([row.created_at.getTime(), row.id])).toString('base64url');
const decodeCursor = (cursor: string): [Date, string] => {
  const [ms, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [
    number,
    string,
  ];
  return [new Date(ms), id];
};

const app = express();

app.get('/health/ready', (_req, res) => {
  res.json({ status: 'ready' });
});

app.get('/api/v1/courses/:id', async (req: Request<{ id: string }>, res) => {
  const { rows } = await pool.query<CourseRow>(
    `${SELECT} WHERE c.id = $1 AND c.deleted_at IS NULL AND c.status = 'published'`,
    [req.params.id],
  );
  if (rows[0] === undefined) {
    res.status(404).json({ title: 'Not Found' });
    return;
  }
  res.json(toCourse(rows[0]));
});

app.get('/api/v1/courses', async (req, res) => {
  const limit = Math.min(100, Math.max(1, Number(req.query.limit ?? 20) || 20));
  const cursor = typeof req.query.cursor === 'string' ? decodeCursor(req.query.cursor) : undefined;
  // limit + 1 rows: the extra one says whether there is a next page.
  const { rows } = await pool.query<CourseRow>(
    `${SELECT} WHERE c.status = 'published' AND c.deleted_at IS NULL
       ${cursor ? 'AND (c.created_at, c.id) < ($2, $3)' : ''}
     ORDER BY c.created_at DESC, c.id DESC LIMIT $1`,
    cursor ? [limit + 1, ...cursor] : [limit + 1],
  );
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  res.json({
    items: items.map(toCourse),
    nextCursor: rows.length > limit && last ? encodeCursor(last) : null,
  });
});

const port = Number(process.env.PORT ?? 3100);
app.listen(port, process.env.HOST ?? '127.0.0.1');
