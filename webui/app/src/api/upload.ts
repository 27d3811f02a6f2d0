// upload.ts sends a file to POST /api/v1/media (API.md §6). It uses
// XMLHttpRequest rather than fetch because only XHR reports upload
// progress; the bytes go as the raw body (the node sniffs the type), never
// read whole into a string.
import { api, ApiError } from './rest';
import type { Media } from './types';

export interface UploadOptions {
  /** name is the file name the node records (left out for ciphertext: docs/api.md, "Encrypted rooms"). */
  name?: string;
  /** onProgress gets the fraction sent, 0 to 1. */
  onProgress?(fraction: number): void;
  signal?: AbortSignal;
}

/** uploadPath is the upload URL for a file name (none for encrypted uploads). */
export function uploadPath(name?: string): string {
  return name ? `/api/v1/media?name=${encodeURIComponent(name)}` : '/api/v1/media';
}

/** parseError turns an upload's failed answer into the ApiError the rest of the UI understands. */
export function parseError(status: number, text: string, retryAfter: string | null): ApiError {
  let code = status >= 500 ? 'internal' : `http_${status}`;
  let message = `${status} error`;
  try {
    const e = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
    if (e?.code) code = e.code;
    if (e?.message) message = e.message;
  } catch {
    /* not JSON: a proxy's page */
  }
  const ra = Number(retryAfter);
  return new ApiError(status, code, message, Number.isFinite(ra) && ra > 0 ? ra : undefined);
}

function once(body: Blob, token: string | null, opts: UploadOptions): Promise<Media> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', uploadPath(opts.name));
    if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    xhr.setRequestHeader('Content-Type', body.type || 'application/octet-stream');
    xhr.setRequestHeader('Accept', 'application/json');
    xhr.upload.onprogress = (e) => {
      if (e.lengthComputable && e.total > 0) opts.onProgress?.(e.loaded / e.total);
    };
    xhr.onload = () => {
      if (xhr.status === 201 || xhr.status === 200) {
        try {
          resolve(JSON.parse(xhr.responseText) as Media);
        } catch {
          reject(new ApiError(xhr.status, 'internal', 'the node answered an upload with something that is not JSON'));
        }
        return;
      }
      reject(parseError(xhr.status, xhr.responseText, xhr.getResponseHeader('Retry-After')));
    };
    // fetch's convention: a network failure is a TypeError (errors.ts says "Cannot reach the node").
    xhr.onerror = () => reject(new TypeError('the upload could not reach the node'));
    xhr.onabort = () => reject(new DOMException('the upload was cancelled', 'AbortError'));
    if (opts.signal) {
      if (opts.signal.aborted) {
        reject(new DOMException('the upload was cancelled', 'AbortError'));
        return;
      }
      opts.signal.addEventListener('abort', () => xhr.abort(), { once: true });
    }
    xhr.send(body);
  });
}

/** uploadFile uploads bytes and returns the node's Media; a 401 refreshes the session and tries once more. */
export async function uploadFile(body: Blob, opts: UploadOptions = {}): Promise<Media> {
  try {
    return await once(body, api.accessToken(), opts);
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      await api.refresh();
      return once(body, api.accessToken(), opts);
    }
    throw err;
  }
}
