import YAML from 'yaml';
import bundled from './generated/openapi.json';

/** The bundled document: the one the validator enforces and the one clients are served. */
export const openapiDocument = bundled as unknown as OpenApiDocument;
export const openapiYaml = YAML.stringify(bundled);

export interface OpenApiOperation {
  operationId: string;
  parameters?: { in: string; name: string }[];
}

export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, OpenApiOperation>>;
}

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;
