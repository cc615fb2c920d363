import { randomUUID } from 'node:crypto';
import { unescape as unescapeQuery } from 'node:querystring';

/**
 * A catalogue of hostile requests derived from an OpenAPI document: for every operation, cases
 * built from its declared path, query and header parameters and its JSON request body schema.
 * Nothing here knows an operation by name, so an operation added to the document is covered
 * as soon as it is there.
 */

export const ALL_HTTP_METHODS = [
  'get',
  'put',
  'post',
  'delete',
  'patch',
  'options',
  'head',
  'trace',
] as const;

/** The parts of a JSON Schema the catalogue reads; anything else is carried along untouched. */
export interface Schema {
  $ref?: string;
  type?: string | string[];
  format?: string;
  enum?: unknown[];
  example?: unknown;
  examples?: unknown[];
  default?: unknown;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  allOf?: Schema[];
  oneOf?: Schema[];
  anyOf?: Schema[];
  /** Set by `resolveSchema` where a `oneOf`/`anyOf` was reduced to its first branch. */
  alternatives?: boolean;
}

interface Parameter {
  $ref?: string;
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: Schema;
}

interface Operation {
  operationId: string;
  parameters?: Parameter[];
  requestBody?: {
    $ref?: string;
    required?: boolean;
    content?: Record<string, { schema?: Schema }>;
  };
}

export interface Document {
  paths: Record<string, Record<string, unknown> & { parameters?: Parameter[] }>;
}

/** What a case needs from the running test to build its request. */
export interface CaseContext {
  /** Ids of existing resources by parameter or property name (`courseId`, `instructorId`). */
  ids: Record<string, string>;
  /** Values a property must have to get past the first check (`currentPassword`). */
  values: Record<string, unknown>;
}

/** A request exactly as it goes on the wire: the path is already percent-encoded. */
export interface RawRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export interface HostileCase {
  /** Which input and which hostile value, e.g. `body title: 200 emoji (at maxLength)`. */
  label: string;
  build(ctx: CaseContext): RawRequest;
  /**
   * The document or the product refuses this input (a value outside its schema, malformed or
   * too deep JSON, a NUL): no 2xx.
   */
  mustRefuse?: boolean;
  /** The case sends an Authorization header of its own: it is sent once, as it is. */
  ownAuthorization?: boolean;
  /**
   * A value the document accepts: it may be refused for another reason, but not with an error
   * on this field that matches `reason` (nor with a 413), since it "can be stored and used".
   */
  accepted?: { field: string; reason: RegExp };
}

export interface OperationCatalogue {
  operationId: string;
  method: string;
  path: string;
  pathParams: string[];
  queryParams: string[];
  hasJsonBody: boolean;
  cases: HostileCase[];
}

// ---------------------------------------------------------------------------------------------
// Hostile values

/** `n` arrays nested in each other: 5,000 gives about 10 kB of JSON. */
const nestedArrays = (n: number) => '['.repeat(n) + ']'.repeat(n);

/** An object `n` levels deep: `{"a":{"a":...{}}}`. */
const nestedObjects = (n: number) => '{"a":'.repeat(n - 1) + '{}' + '}'.repeat(n - 1);

/** Raw JSON numbers, written as text so that none is rounded before it leaves the test. */
const HUGE_NUMBERS: [string, string][] = [
  ['1e308', '1e308'],
  ['1e400 (Infinity once parsed)', '1e400'],
  ['2**53+1', '9007199254740993'],
  ['-2**31-1', '-2147483649'],
  ['2**31', '2147483648'],
  ['1e20 as an integer', '100000000000000000000'],
  ['-1', '-1'],
  ['0', '0'],
  ['-0', '-0'],
  ['1.5', '1.5'],
];

/** Control and look-alike characters, each inside an otherwise ordinary value. */
const CONTROL_CHARACTERS: [string, string, boolean][] = [
  ['NUL', '\u0000', true],
  ['BEL', '\u0007', false],
  ['ESC sequence', '\u001b[31m', false],
  ['RTL override', '\u202e', false],
  ['lone surrogate', '\ud800', false],
  ['BOM', '\ufeff', false],
  ['CR LF', '\r\n', false],
];

/** What "refused for its length" looks like in an error message. */
const LENGTH_REFUSAL = /more than|fewer than|too long|too short|length/i;

/** Multi-byte characters, each one code point (what JSON Schema's maxLength counts). */
const WIDE_CHARACTERS: [string, string][] = [
  ['emoji', '\u{1F600}'],
  ['CJK', '\u6f22'],
];

const enc = encodeURIComponent;

/** Query values, already percent-encoded as a hostile client would send them; NUL is refused. */
const QUERY_VALUES: [string, string, boolean?][] = [
  ['10k characters', 'a'.repeat(10_000)],
  ['50 emoji', enc('\u{1F600}'.repeat(50))],
  ['CJK', enc('\u6f22\u5b57'.repeat(50))],
  ['combining marks', enc('e\u0301\u0302\u0303'.repeat(20))],
  ['RTL override', enc('\u202eabc')],
  ['NUL (%00)', '%00', true],
  ['a NUL inside (a%00b)', 'a%00b', true],
  ['BEL (%07)', '%07'],
  ['ESC sequence', '%1B%5B31m'],
  ['invalid UTF-8 (lone surrogate %ED%A0%80)', '%ED%A0%80'],
  ['broken percent-encoding (%zz)', '%zz'],
  ['a lone %', '%'],
  ['empty', ''],
  ['1e308', '1e308'],
  ['99999999999999999999', '99999999999999999999'],
  ['-1', '-1'],
  ['NaN', 'NaN'],
  ['Infinity', 'Infinity'],
  ['-Infinity', '-Infinity'],
  ['0x10', '0x10'],
  ['a padded number', '%201%20'],
];

/** Path segments in place of an id, already percent-encoded. */
const PATH_VALUES: [string, string][] = [
  ['not-a-uuid', 'not-a-uuid'],
  ['10k characters', 'a'.repeat(10_000)],
  ['%00', '%00'],
  ['a uuid with %00 after it', `${randomUUID()}%00`],
  ['unicode', enc('\u{1F600}\u6f22\u202e')],
  ['..%2F..%2Fhealth%2Fready', '..%2F..%2Fhealth%2Fready'],
  ['broken percent-encoding (%zz)', '%zz'],
  ['nil uuid', '00000000-0000-0000-0000-000000000000'],
  ['a uuid with a trailing space', `${randomUUID()}%20`],
];

/** Emails a client may send: look-alikes to refuse or accept, and valid ones at the limits. */
function hostileEmails(): {
  label: string;
  value: () => string;
  accepted: boolean;
}[] {
  return [
    {
      label: 'Cyrillic а in the domain',
      value: () => `u-${id8()}@ex\u0430mple.com`,
      accepted: false,
    },
    { label: 'fullwidth ＠', value: () => `u-${id8()}\uff20example.com`, accepted: false },
    {
      label: 'no dot in the domain (someone@invalid)',
      value: () => `someone-${id8()}@invalid`,
      accepted: false,
    },
    { label: 'exactly 254 characters, valid', value: email254, accepted: true },
    { label: 'upper case', value: () => `U-${id8().toUpperCase()}@EXAMPLE.COM`, accepted: true },
    { label: 'a +tag', value: () => `u+tag-${id8()}@example.com`, accepted: true },
  ];
}

const id8 = () => randomUUID().slice(0, 8);

/** A valid address of exactly 254 characters: a 64-character local part, then dotted labels. */
function email254(): string {
  const local = `${randomUUID().replace(/-/g, '')}${'l'.repeat(32)}`; // 64
  const domain = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(57)}.com`; // 189
  return `${local}@${domain}`;
}

// ---------------------------------------------------------------------------------------------
// Reading the document

function pointer(document: unknown, ref: string): unknown {
  if (!ref.startsWith('#/')) throw new Error(`only local $refs are followed: ${ref}`);
  let node: unknown = document;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    node = (node as Record<string, unknown> | undefined)?.[key];
    if (node === undefined) throw new Error(`unresolved $ref ${ref}`);
  }
  return node;
}

function deref<T extends { $ref?: string }>(document: unknown, node: T): T {
  let current = node;
  for (let hops = 0; current?.$ref; hops++) {
    if (hops > 20) throw new Error(`$ref cycle at ${node.$ref}`);
    current = pointer(document, current.$ref) as T;
  }
  return current;
}

/** A schema with `$ref`s followed, `allOf` merged and the first branch of a `oneOf`/`anyOf`. */
function resolveSchema(document: unknown, raw: Schema | undefined): Schema {
  if (!raw) return {};
  const schema = deref(document, raw);
  let merged: Schema = { ...schema };
  for (const part of schema.allOf ?? []) {
    const resolved = resolveSchema(document, part);
    merged = {
      ...resolved,
      ...merged,
      properties: { ...resolved.properties, ...merged.properties },
      required: [...(resolved.required ?? []), ...(merged.required ?? [])],
    };
  }
  delete merged.allOf;
  const branches = schema.oneOf ?? schema.anyOf;
  if (branches) {
    const first =
      branches.map((b) => resolveSchema(document, b)).find((b) => mainType(b) !== 'null') ?? {};
    merged = { ...first, ...merged, properties: { ...first.properties, ...merged.properties } };
    merged.alternatives = true;
    delete merged.oneOf;
    delete merged.anyOf;
  }
  return merged;
}

const declaredTypes = (schema: Schema): string[] =>
  Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];

/** The first non-null type a schema allows. */
function mainType(schema: Schema): string | undefined {
  const types = declaredTypes(schema);
  if (types.length === 0 && schema.properties) return 'object';
  return types.find((t) => t !== 'null') ?? types[0];
}

function parametersOf(
  document: unknown,
  item: { parameters?: Parameter[] },
  operation: Operation,
): Parameter[] {
  const byKey = new Map<string, Parameter>();
  for (const raw of [...(item.parameters ?? []), ...(operation.parameters ?? [])]) {
    const param = deref(document, raw);
    byKey.set(`${param.in}:${param.name}`, param);
  }
  return [...byKey.values()];
}

function jsonBodySchema(document: unknown, operation: Operation): Schema | undefined {
  if (!operation.requestBody) return undefined;
  const body = deref(document, operation.requestBody);
  const mediaType = Object.keys(body.content ?? {}).find((type) => /json/i.test(type));
  return mediaType ? resolveSchema(document, body.content?.[mediaType]?.schema) : undefined;
}

// ---------------------------------------------------------------------------------------------
// Values the document refuses

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function numberViolates(schema: Schema, n: number): boolean {
  const types = declaredTypes(schema);
  if (!Number.isFinite(n)) return true;
  if (!types.includes('number') && !Number.isInteger(n)) return true;
  return (
    (schema.minimum !== undefined && n < schema.minimum) ||
    (schema.maximum !== undefined && n > schema.maximum)
  );
}

function stringViolates(schema: Schema, s: string): boolean {
  const length = [...s].length; // code points, as JSON Schema counts
  return (
    (schema.maxLength !== undefined && length > schema.maxLength) ||
    (schema.minLength !== undefined && length < schema.minLength) ||
    (schema.pattern !== undefined && !new RegExp(schema.pattern, 'u').test(s)) ||
    (schema.format === 'uuid' && !UUID.test(s))
  );
}

/**
 * Whether the schema certainly refuses this JSON value: then a 2xx is a hole in validation. Only
 * what can be judged for sure (types, bounds, lengths, patterns, enums, uuids); never a oneOf.
 */
export function violatesJson(schema: Schema, value: unknown): boolean {
  if (schema.alternatives) return false;
  const types = declaredTypes(schema);
  if (schema.enum) return !schema.enum.includes(value);
  if (value === null) return types.length > 0 && !types.includes('null');
  if (types.length === 0) return false;
  const actual = Array.isArray(value) ? 'array' : typeof value;
  if (actual === 'number') {
    if (!types.includes('number') && !types.includes('integer')) return true;
    return numberViolates(schema, value as number);
  }
  if (!types.includes(actual)) return true;
  if (actual === 'string') return stringViolates(schema, value as string);
  if (actual === 'array') {
    const count = (value as unknown[]).length;
    return (
      (schema.minItems !== undefined && count < schema.minItems) ||
      (schema.maxItems !== undefined && count > schema.maxItems)
    );
  }
  return false;
}

/** The same for a path or query value, as text, where numbers arrive as strings. */
export function violatesText(schema: Schema, text: string): boolean {
  if (schema.alternatives) return false;
  const types = declaredTypes(schema);
  if (schema.enum) return !schema.enum.some((e) => e !== null && String(e) === text);
  if (types.includes('integer') || types.includes('number'))
    return text.trim() === '' || numberViolates(schema, Number(text));
  if (types.includes('boolean')) return text !== 'true' && text !== 'false';
  if (types.includes('string')) return stringViolates(schema, text);
  return false;
}

/** A percent-encoded value as the server reads it, or undefined where it cannot be decoded. */
function decoded(raw: string, unescape: (s: string) => string): string | undefined {
  try {
    return unescape(raw);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Valid values

/** A value the schema accepts, from its examples where it has them. */
function validValue(
  document: unknown,
  raw: Schema,
  name: string,
  ctx: CaseContext,
  exampleFromParent?: unknown,
): unknown {
  const schema = resolveSchema(document, raw);
  if (name in ctx.values) return ctx.values[name];
  const type = mainType(schema);
  if (schema.format === 'email') return `u-${randomUUID()}@example.com`; // unique per request
  if (schema.format === 'uuid') return ctx.ids[name] ?? randomUUID();
  if (type === 'object') {
    const example = (schema.example ?? exampleFromParent ?? {}) as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const [prop, propSchema] of Object.entries(schema.properties ?? {})) {
      const required = schema.required?.includes(prop) ?? false;
      const resolved = resolveSchema(document, propSchema);
      // An optional id with nothing to point at would only earn a 404 for the whole body.
      if (!required && resolved.format === 'uuid' && !(prop in ctx.ids)) continue;
      out[prop] = validValue(document, resolved, prop, ctx, example[prop]);
    }
    return out;
  }
  if (type === 'array') {
    const example = schema.example ?? exampleFromParent;
    if (Array.isArray(example) && example.length >= (schema.minItems ?? 0)) return example;
    const item = validValue(document, schema.items ?? {}, name, ctx);
    return Array.from({ length: Math.max(1, schema.minItems ?? 1) }, () => item);
  }
  if (schema.example !== undefined && schema.example !== null) return schema.example;
  if (schema.examples?.[0] !== undefined) return schema.examples[0];
  if (exampleFromParent !== undefined && exampleFromParent !== null) return exampleFromParent;
  const enumValue = schema.enum?.find((v) => v !== null);
  if (enumValue !== undefined) return enumValue;
  if (schema.default !== undefined) return schema.default;
  switch (type) {
    case 'string':
      if (schema.format === 'date-time') return new Date().toISOString();
      if (schema.format === 'uri' || schema.format === 'url') return 'https://example.com/a';
      return 'a'.repeat(Math.max(1, schema.minLength ?? 1));
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return true;
    default:
      return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Body fields and their mutations

interface Field {
  /** Keys and indexes from the body's root. */
  at: (string | number)[];
  schema: Schema;
}

const fieldLabel = (at: (string | number)[]) =>
  at.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');

/** Every property of the body, nested ones too (arrays through their first item). */
function fieldsOf(document: unknown, schema: Schema, at: (string | number)[] = []): Field[] {
  if (at.length > 6) return [];
  const type = mainType(schema);
  const fields: Field[] = [];
  if (type === 'object') {
    for (const [prop, raw] of Object.entries(schema.properties ?? {})) {
      const child = resolveSchema(document, raw);
      fields.push(
        { at: [...at, prop], schema: child },
        ...fieldsOf(document, child, [...at, prop]),
      );
    }
  } else if (type === 'array' && schema.items) {
    const item = resolveSchema(document, schema.items);
    fields.push({ at: [...at, 0], schema: item }, ...fieldsOf(document, item, [...at, 0]));
  }
  return fields;
}

/** A mutation gives the field's new value as JSON text. */
interface Mutation {
  label: string;
  json: (current: unknown) => string;
  mustRefuse?: boolean;
  /** The value is one the document accepts; `reason` is what may not be said against it. */
  acceptedUnless?: RegExp;
}

function mutationsOf(schema: Schema): Mutation[] {
  const type = mainType(schema);
  const text = (value: string) => () => JSON.stringify(value);
  const mutations: Mutation[] = [
    { label: 'null', json: () => 'null' },
    { label: 'an array of the valid value', json: (v) => JSON.stringify([v]) },
    { label: 'an object', json: () => '{"$ne":null}' },
    { label: 'true', json: () => 'true' },
    { label: '5,000 nested arrays', json: () => nestedArrays(5_000), mustRefuse: true },
    { label: '33 levels of nested objects', json: () => nestedObjects(33), mustRefuse: true },
    { label: '40 levels of nested objects', json: () => nestedObjects(40), mustRefuse: true },
  ];
  if (type === 'string') {
    const base = 'value';
    mutations.push(
      { label: 'a number', json: () => '12345' },
      { label: 'empty string', json: text('') },
      { label: 'whitespace only', json: text('   ') },
      { label: '10k characters', json: text('x'.repeat(10_000)) },
      { label: 'combining marks', json: text('e\u0301\u0302'.repeat(10)) },
    );
    for (const [label, ch, mustRefuse] of CONTROL_CHARACTERS)
      mutations.push({ label: `${label} inside`, json: text(`${base}${ch}${base}`), mustRefuse });
    if (schema.maxLength !== undefined) {
      const max = schema.maxLength;
      mutations.push({ label: `maxLength+1 (${max + 1})`, json: text('x'.repeat(max + 1)) });
      if (max >= (schema.minLength ?? 0)) {
        for (const [label, ch] of WIDE_CHARACTERS) {
          mutations.push({
            label: `${max} ${label} (at maxLength)`,
            json: text(ch.repeat(max)),
            acceptedUnless: LENGTH_REFUSAL,
          });
        }
      }
    }
    // A depth limit that reads the raw body must not count brackets inside strings.
    const brackets = Math.min(schema.maxLength ?? 100, 100);
    if (brackets > 32 && brackets >= (schema.minLength ?? 0))
      mutations.push({
        label: `${brackets} brackets inside a string`,
        json: text('[{'.repeat(brackets).slice(0, brackets)),
        acceptedUnless: LENGTH_REFUSAL,
      });
    if (schema.format === 'email') {
      for (const email of hostileEmails()) {
        mutations.push({
          label: `email ${email.label}`,
          json: () => JSON.stringify(email.value()),
          acceptedUnless: email.accepted ? /./ : undefined,
        });
      }
    }
    if (schema.format === 'uuid') {
      mutations.push(
        { label: 'not-a-uuid', json: text('not-a-uuid') },
        { label: 'nil uuid', json: text('00000000-0000-0000-0000-000000000000') },
        { label: 'a random uuid', json: () => JSON.stringify(randomUUID()) },
        {
          label: 'the valid uuid in upper case',
          json: (v) => JSON.stringify(String(v).toUpperCase()),
        },
      );
    }
    if (schema.enum) {
      const first = schema.enum.find((v) => typeof v === 'string');
      if (typeof first === 'string')
        mutations.push({ label: 'an enum value in upper case', json: text(first.toUpperCase()) });
    }
  }
  if (type === 'integer' || type === 'number') {
    for (const [label, raw] of HUGE_NUMBERS) mutations.push({ label, json: () => raw });
    mutations.push({ label: 'a numeric string', json: () => '"1"' });
  }
  if (type === 'boolean') mutations.push({ label: 'the string "true"', json: () => '"true"' });
  if (type === 'array') {
    const count = schema.maxItems !== undefined ? schema.maxItems + 1 : 1_000;
    mutations.push(
      { label: 'empty array', json: () => '[]' },
      {
        label: `${count} items`,
        json: (v) => JSON.stringify(Array(count).fill((v as unknown[])[0] ?? null)),
      },
    );
  }
  return mutations;
}

/** The body as JSON text with the field at `at` replaced by `raw` (JSON text). */
function withField(body: unknown, at: (string | number)[], raw: string): string {
  const marker = `__hostile_${randomUUID()}__`;
  const copy = structuredClone(body) as Record<string | number, unknown>;
  let node: Record<string | number, unknown> = copy;
  for (const [i, key] of at.entries()) {
    if (i === at.length - 1) {
      node[key] = marker;
      break;
    }
    if (node[key] === null || typeof node[key] !== 'object')
      node[key] = typeof at[i + 1] === 'number' ? [] : {};
    node = node[key] as Record<string | number, unknown>;
  }
  return JSON.stringify(copy).replace(JSON.stringify(marker), raw);
}

function valueAt(body: unknown, at: (string | number)[]): unknown {
  let node = body;
  for (const key of at) node = (node as Record<string | number, unknown> | null)?.[key];
  return node;
}

// ---------------------------------------------------------------------------------------------
// The catalogue

const JSON_TYPE = { 'Content-Type': 'application/json' };

/** A context in which every id exists: for judging a mutated value without a running app. */
const SAMPLE_CONTEXT: CaseContext = {
  ids: new Proxy<Record<string, string>>({}, { get: () => randomUUID(), has: () => true }),
  values: {},
};

/** One operation's cases, in the order they run (path variants last: one may delete). */
function casesOf(
  document: unknown,
  method: string,
  path: string,
  params: Parameter[],
  bodySchema: Schema | undefined,
): HostileCase[] {
  const verb = method.toUpperCase();
  const pathParams = params.filter((p) => p.in === 'path');
  const queryParams = params.filter((p) => p.in === 'query');
  const headerParams = params.filter((p) => p.in === 'header');

  const fillPath = (ctx: CaseContext, override?: { name: string; raw: string }) =>
    path.replace(/\{([^}]+)\}/g, (_m, name: string) =>
      override?.name === name ? override.raw : enc(ctx.ids[name] ?? randomUUID()),
    );
  const validBody = (ctx: CaseContext) =>
    bodySchema ? validValue(document, bodySchema, '', ctx) : undefined;
  const request = (
    ctx: CaseContext,
    parts: {
      path?: string;
      query?: string;
      headers?: Record<string, string>;
      body?: string | null;
    },
  ): RawRequest => {
    const body =
      parts.body === null
        ? undefined
        : (parts.body ?? (bodySchema ? JSON.stringify(validBody(ctx)) : undefined));
    return {
      method: verb,
      path: (parts.path ?? fillPath(ctx)) + (parts.query ? `?${parts.query}` : ''),
      headers: { ...(body !== undefined && !parts.headers ? JSON_TYPE : {}), ...parts.headers },
      body,
    };
  };

  const cases: HostileCase[] = [{ label: 'a valid request', build: (ctx) => request(ctx, {}) }];

  // Query parameters: each hostile value in each declared one, then shapes a scalar cannot have.
  for (const param of queryParams) {
    const q = enc(param.name);
    const schema = resolveSchema(document, param.schema);
    const refusesQuery = (raw: string) => violatesText(schema, unescapeQuery(raw));
    for (const [label, raw, refusesNul] of QUERY_VALUES)
      cases.push({
        label: `query ${param.name}: ${label}`,
        build: (ctx) => request(ctx, { query: `${q}=${raw}` }),
        mustRefuse: refusesNul || refusesQuery(raw),
      });
    // Only where any character is allowed: a pattern or a format would refuse these anyway.
    const anyText = !schema.enum && !schema.pattern && !schema.format;
    if (mainType(schema) === 'string' && schema.maxLength !== undefined && anyText) {
      for (const [label, ch] of WIDE_CHARACTERS)
        cases.push({
          label: `query ${param.name}: ${schema.maxLength} ${label} (at maxLength)`,
          build: (ctx) => request(ctx, { query: `${q}=${enc(ch.repeat(schema.maxLength!))}` }),
          accepted: { field: `query.${param.name}`, reason: LENGTH_REFUSAL },
        });
    }
    cases.push(
      {
        label: `query ${param.name}: duplicated`,
        build: (ctx) => request(ctx, { query: `${q}=1&${q}=2` }),
      },
      {
        label: `query ${param.name}[]: an array`,
        build: (ctx) => request(ctx, { query: `${q}[]=1&${q}[]=2` }),
      },
      {
        label: `query ${param.name}[a]: an object`,
        build: (ctx) => request(ctx, { query: `${q}[a]=b` }),
      },
      {
        label: `query ${param.name} with no value`,
        build: (ctx) => request(ctx, { query: q }),
        mustRefuse: refusesQuery(''),
      },
    );
  }
  cases.push({
    label: 'query: an undeclared parameter',
    build: (ctx) => request(ctx, { query: 'undeclared=1' }),
  });

  // Header parameters: values Node lets a client send, at and past their limits. A value the
  // parameter's schema refuses (a length, a pattern such as Idempotency-Key's) must be refused.
  for (const param of headerParams) {
    const schema = resolveSchema(document, param.schema);
    const headerValues: [string, string][] = [
      ['10k characters', 'x'.repeat(10_000)],
      ['256 characters', 'x'.repeat(256)],
      ['Latin-1 bytes', '\u00ff\u00fe\u00e9'],
      ['*', '*'],
      ['a weak ETag', 'W/"abc"'],
      ['a list of 500 ETags', Array.from({ length: 500 }, (_, i) => `"${i}"`).join(', ')],
      ['a space and a tab inside', 'a b\tc'],
      ['empty', ''],
    ];
    for (const [label, value] of headerValues)
      cases.push({
        label: `header ${param.name}: ${label}`,
        build: (ctx) =>
          request(ctx, { headers: { ...(bodySchema ? JSON_TYPE : {}), [param.name]: value } }),
        mustRefuse: violatesText(schema, value),
      });
  }

  // Request headers every operation reads, declared or not.
  const anyHeaders: [string, Record<string, string>, boolean?][] = [
    ['X-Request-Id of 10k characters', { 'X-Request-Id': 'r'.repeat(10_000) }],
    ['X-Request-Id of Latin-1 bytes', { 'X-Request-Id': '\u00ff\u00e9../' }],
    ['Accept-Language of 1,000 tags', { 'Accept-Language': 'xx-YY;q=0.5, '.repeat(1_000) }],
    ['Accept: application/xml', { Accept: 'application/xml' }],
    [
      'Authorization: Bearer and 8k characters',
      { Authorization: `Bearer ${'a'.repeat(8_000)}` },
      true,
    ],
    [
      'Authorization: an unsigned JWT (alg none)',
      { Authorization: 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4Iiwicm9sZSI6ImFkbWluIn0.' },
      true,
    ],
    ['Authorization: Basic', { Authorization: 'Basic YWRtaW46YWRtaW4=' }, true],
  ];
  for (const [label, headers, ownAuthorization] of anyHeaders)
    cases.push({
      label: `header ${label}`,
      build: (ctx) => request(ctx, { headers: { ...(bodySchema ? JSON_TYPE : {}), ...headers } }),
      ownAuthorization,
    });

  if (bodySchema) {
    // One field at a time, each hostile value, the rest of the body valid.
    for (const field of fieldsOf(document, bodySchema)) {
      const label = fieldLabel(field.at);
      const sample = valueAt(validValue(document, bodySchema, '', SAMPLE_CONTEXT), field.at);
      for (const mutation of mutationsOf(field.schema)) {
        const invalid = violatesJson(field.schema, JSON.parse(mutation.json(sample)));
        cases.push({
          label: `body ${label}: ${mutation.label}`,
          build: (ctx) => {
            const body = validBody(ctx);
            const json = withField(body, field.at, mutation.json(valueAt(body, field.at)));
            return request(ctx, { body: json });
          },
          mustRefuse: mutation.mustRefuse || invalid,
          accepted: mutation.acceptedUnless
            ? { field: ['body', ...field.at].join('.'), reason: mutation.acceptedUnless }
            : undefined,
        });
      }
    }
    // The whole body: other shapes, broken JSON, and other media types.
    const validJson = (ctx: CaseContext) => JSON.stringify(validBody(ctx));
    const wholeBody: [
      string,
      (ctx: CaseContext) => { body: string; headers: Record<string, string> },
      boolean?,
    ][] = [
      ['a top-level array', (ctx) => ({ body: `[${validJson(ctx)}]`, headers: JSON_TYPE })],
      ['a top-level string', () => ({ body: '"hello"', headers: JSON_TYPE })],
      ['a top-level number', () => ({ body: '1e308', headers: JSON_TYPE })],
      ['null', () => ({ body: 'null', headers: JSON_TYPE })],
      ['empty, as application/json', () => ({ body: '', headers: JSON_TYPE })],
      ['malformed JSON', () => ({ body: '{"a":', headers: JSON_TYPE }), true],
      ['application/json that is not JSON', () => ({ body: 'hello', headers: JSON_TYPE }), true],
      ['5,000 nested arrays', () => ({ body: nestedArrays(5_000), headers: JSON_TYPE }), true],
      [
        '40 levels of nested objects',
        () => ({ body: nestedObjects(40), headers: JSON_TYPE }),
        true,
      ],
      [
        'a __proto__ key',
        (ctx) => ({
          body: validJson(ctx).replace(/^\{/, '{"__proto__":{"role":"admin"},'),
          headers: JSON_TYPE,
        }),
      ],
      [
        'a 1 MB body',
        () => ({ body: JSON.stringify({ x: 'a'.repeat(1_000_000) }), headers: JSON_TYPE }),
      ],
      [
        'a UTF-8 BOM before the JSON',
        (ctx) => ({ body: `\ufeff${validJson(ctx)}`, headers: JSON_TYPE }),
      ],
      [
        'as text/plain',
        (ctx) => ({ body: validJson(ctx), headers: { 'Content-Type': 'text/plain' } }),
      ],
      [
        'as application/x-www-form-urlencoded',
        () => ({
          body: 'email=a%40example.com&password=x',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        }),
      ],
      [
        'as multipart/form-data; boundary=x',
        () => ({
          body: '--x\r\nContent-Disposition: form-data; name="a"\r\n\r\nb\r\n--x--\r\n',
          headers: { 'Content-Type': 'multipart/form-data; boundary=x' },
        }),
      ],
      [
        'as application/json; charset=utf-16',
        (ctx) => ({
          body: validJson(ctx),
          headers: { 'Content-Type': 'application/json; charset=utf-16' },
        }),
      ],
      [
        'as application/json; charset=klingon',
        (ctx) => ({
          body: validJson(ctx),
          headers: { 'Content-Type': 'application/json; charset=klingon' },
        }),
      ],
      [
        'as application/json-patch+json',
        (ctx) => ({
          body: validJson(ctx),
          headers: { 'Content-Type': 'application/json-patch+json' },
        }),
      ],
      ['with no Content-Type', (ctx) => ({ body: validJson(ctx), headers: {} })],
      ['with no body at all', () => ({ body: '', headers: {} })],
      [
        'gzip-encoded, but not gzip',
        (ctx) => ({ body: validJson(ctx), headers: { ...JSON_TYPE, 'Content-Encoding': 'gzip' } }),
      ],
    ];
    for (const [label, make, mustRefuse] of wholeBody)
      cases.push({
        label: `whole body: ${label}`,
        build: (ctx) => request(ctx, make(ctx)),
        mustRefuse,
      });
  } else {
    // No body is declared: one sent anyway is parsed all the same, so it must be harmless.
    const unsolicited: [string, string, string][] = [
      ['a JSON object', '{"a":1}', 'application/json'],
      ['malformed JSON', '{"a":', 'application/json'],
      ['5,000 nested arrays', nestedArrays(5_000), 'application/json'],
      ['text/plain', 'hello', 'text/plain'],
    ];
    for (const [label, body, type] of unsolicited)
      cases.push({
        label: `unsolicited body: ${label}`,
        build: (ctx) => request(ctx, { body, headers: { 'Content-Type': type } }),
      });
  }

  // Path parameters, one at a time; the others keep their valid value.
  for (const param of pathParams) {
    cases.push({
      label: `path ${param.name}: a random uuid`,
      build: (ctx) =>
        request(ctx, { path: fillPath(ctx, { name: param.name, raw: randomUUID() }) }),
    });
    const schema = resolveSchema(document, param.schema);
    for (const [label, raw] of PATH_VALUES) {
      const text = decoded(raw, decodeURIComponent);
      cases.push({
        label: `path ${param.name}: ${label}`,
        build: (ctx) => request(ctx, { path: fillPath(ctx, { name: param.name, raw }) }),
        mustRefuse: text === undefined || violatesText(schema, text),
      });
    }
    cases.push({
      label: `path ${param.name}: the existing id in upper case`,
      build: (ctx) =>
        request(ctx, {
          path: fillPath(ctx, {
            name: param.name,
            raw: enc((ctx.ids[param.name] ?? randomUUID()).toUpperCase()),
          }),
        }),
    });
  }
  return cases;
}

/** The catalogue of every operation of the document. */
export function buildCatalogue(document: Document): OperationCatalogue[] {
  const catalogue: OperationCatalogue[] = [];
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of ALL_HTTP_METHODS) {
      const operation = item[method] as Operation | undefined;
      if (!operation) continue;
      const params = parametersOf(document, item, operation);
      const bodySchema = jsonBodySchema(document, operation);
      catalogue.push({
        operationId: operation.operationId,
        method,
        path,
        pathParams: params.filter((p) => p.in === 'path').map((p) => p.name),
        queryParams: params.filter((p) => p.in === 'query').map((p) => p.name),
        hasJsonBody: bodySchema !== undefined,
        cases: casesOf(document, method, path, params, bodySchema),
      });
    }
  }
  return catalogue;
}

/** Every operationId in the document, counted independently of the catalogue. */
export function operationIdsOf(document: Document): string[] {
  return Object.values(document.paths).flatMap((item) =>
    ALL_HTTP_METHODS.flatMap((method) => {
      const operation = item[method] as Operation | undefined;
      return operation ? [operation.operationId] : [];
    }),
  );
}
