import bundled from './generated/openapi.json';

/** The bundled document: the one the validator enforces and the one clients are served. */
export const openapiDocument = bundled as unknown as OpenApiDocument;

let yaml: string | undefined;
/** The document as YAML, made when first asked for (the YAML library is loaded only then). */
export function openapiYaml(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (yaml ??= (require('yaml') as typeof import('yaml')).stringify(bundled));
}

export interface OpenApiParameter {
  in: string;
  name: string;
}

export interface OpenApiOperation {
  operationId: string;
  security?: Record<string, string[]>[];
  parameters?: (OpenApiParameter | { $ref: string })[];
  /** The largest request body the operation takes, where it is not the default 100 kB. */
  'x-max-body-bytes'?: number;
  responses?: Record<string, { headers?: Record<string, unknown> }>;
}

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, OpenApiOperation>>;
  components?: { parameters?: Record<string, OpenApiParameter> };
}

/** An operation's parameters with `$ref`s to components/parameters resolved. */
export function parametersOf(operation: OpenApiOperation): OpenApiParameter[] {
  return (operation.parameters ?? []).map((param) => {
    if (!('$ref' in param)) return param;
    const name = param.$ref.replace('#/components/parameters/', '');
    const resolved = openapiDocument.components?.parameters?.[name];
    if (!resolved) throw new Error(`unresolved parameter ${param.$ref}`);
    return resolved;
  });
}

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;
