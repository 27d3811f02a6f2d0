// Attachments shows the files of a message (API.md §6, docs/ui.md "Media"):
// images inline as thumbnails in a box sized from the Media's dimensions
// (so nothing jumps when they load), a click opens the whole image; video
// and audio with the browser's own controls; anything else as a download
// chip with its name and size. Plain files load straight from the node
// (the media cookie authenticates <img>/<video>); the files of encrypted
// rooms are fetched, checked and decrypted here and shown from blob: URLs.
import { useEffect, useState } from 'react';
import type { Media } from '../api/types';
import type { FileRef } from '../crypto/content';
import { api } from '../api/rest';
import { mediaRetry } from '../api/app';
import { fileLabel, fitBox, formatBytes, kindOf, mediaUrl, safeBlobType, thumbUrl, thumbSide } from './media';
import { Modal } from './Modal';

/** retried adds a marker to a URL for the second try, so the browser does not reuse the failed answer. */
const retried = (url: string, n: number) => (n === 0 ? url : `${url}${url.includes('?') ? '&' : '?'}retry=${n}`);

/**
 * useRetry gives a load one more try after an error, once the media
 * cookie was renewed (a load that raced the sign-in, or a slept laptop).
 */
function useRetry(): { n: number; failed: boolean; onError(): void } {
  const [n, setN] = useState(0);
  const [failed, setFailed] = useState(false);
  const onError = () => {
    if (n > 0) {
      setFailed(true);
      return;
    }
    void mediaRetry().then(() => setN(1));
  };
  return { n, failed, onError };
}

export function Attachments({ media, files }: { media?: Media[]; files?: FileRef[] }) {
  if (files?.length) {
    return (
      <div className="flex flex-wrap gap-2 mt-1" data-attachments>
        {files.map((f) => (
          <EncryptedFile key={f.media.id} f={f} />
        ))}
      </div>
    );
  }
  if (!media?.length) return null;
  return (
    <div className="flex flex-wrap gap-2 mt-1" data-attachments>
      {media.map((m) => (
        <PlainFile key={m.id} m={m} />
      ))}
    </div>
  );
}

function PlainFile({ m }: { m: Media }) {
  const kind = kindOf(m.type);
  const r = useRetry();
  const [open, setOpen] = useState(false);
  const label = fileLabel(m);
  if (kind === 'image' && !r.failed) {
    const box = fitBox(m.width, m.height);
    const side = thumbSide(box, typeof devicePixelRatio === 'number' ? devicePixelRatio : 1);
    return (
      <>
        <button
          type="button"
          className="block rounded-box overflow-hidden bg-base-300 max-w-full"
          style={{ width: box.width, aspectRatio: `${box.width} / ${box.height}` }}
          title={`${label} (${formatBytes(m.size)})`}
          aria-label={`Open image ${label}`}
          onClick={() => setOpen(true)}
          data-media-id={m.id}
          data-kind="image"
        >
          <img
            key={r.n}
            src={retried(thumbUrl(m.id, side, side), r.n)}
            alt={label}
            width={box.width}
            height={box.height}
            loading="lazy"
            decoding="async"
            className="w-full h-full object-cover"
            onError={r.onError}
          />
        </button>
        {open && <Lightbox title={label} src={mediaUrl(m.id)} download={mediaUrl(m.id, m.name)} name={m.name} onClose={() => setOpen(false)} />}
      </>
    );
  }
  if ((kind === 'video' || kind === 'audio') && !r.failed) {
    const src = retried(mediaUrl(m.id), r.n);
    return (
      <figure className="max-w-full" data-media-id={m.id} data-kind={kind}>
        {kind === 'video' ? (
          <video key={r.n} src={src} controls preload="metadata" className="rounded-box max-w-full max-h-80 bg-black" aria-label={label} onError={r.onError} />
        ) : (
          <audio key={r.n} src={src} controls preload="metadata" aria-label={label} onError={r.onError} />
        )}
        <figcaption className="text-xs opacity-80 truncate" dir="auto">
          {label} · {formatBytes(m.size)}
        </figcaption>
      </figure>
    );
  }
  return <Chip id={m.id} label={label} size={m.size} href={mediaUrl(m.id, m.name)} name={m.name} />;
}

function Chip({ id, label, size, href, name, onClick, busy, error }: { id: string; label: string; size: number; href?: string; name?: string; onClick?(): void; busy?: boolean; error?: string }) {
  const inner = (
    <>
      <span aria-hidden="true">📄</span>
      <span className="truncate max-w-56" dir="auto">
        {label}
      </span>
      <span className="opacity-70 whitespace-nowrap">{busy ? 'decrypting…' : formatBytes(size)}</span>
    </>
  );
  const cls = 'btn btn-sm btn-outline normal-case font-normal gap-2 max-w-full';
  return (
    <span className="inline-flex flex-col" data-media-id={id} data-kind="file">
      {href ? (
        <a className={cls} href={href} download={name ?? ''} aria-label={`Download ${label}, ${formatBytes(size)}`}>
          {inner}
        </a>
      ) : (
        <button type="button" className={cls} onClick={onClick} disabled={busy} aria-label={`Download ${label}, ${formatBytes(size)}`}>
          {inner}
        </button>
      )}
      {error && (
        <span role="alert" className="text-xs text-danger">
          {error}
        </span>
      )}
    </span>
  );
}

function Lightbox({ title, src, download, name, onClose }: { title: string; src: string; download: string; name?: string; onClose(): void }) {
  return (
    <Modal title={title} onClose={onClose} wide>
      <img src={src} alt={title} className="max-w-full max-h-[70vh] mx-auto rounded" />
      <div className="mt-3 text-right">
        <a className="btn btn-sm" href={download} download={name ?? ''}>
          Download
        </a>
      </div>
    </Modal>
  );
}

/** How large an encrypted image, video or audio file is fetched and decrypted without being asked. */
const AUTO_DECRYPT_MAX = 25 * 1024 * 1024;

/** fetchDecrypted fetches an encrypted file's ciphertext and decrypts it into a blob of a safe type. */
async function fetchDecrypted(f: FileRef, signal?: AbortSignal): Promise<Blob> {
  const headers: Record<string, string> = {};
  const token = api.accessToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  const res = await fetch(mediaUrl(f.media.id), { headers, credentials: 'same-origin', signal });
  if (!res.ok) throw new Error(res.status === 404 ? 'the file is not available (it may have been deleted)' : `the node answered ${res.status}`);
  const ct = new Uint8Array(await res.arrayBuffer());
  const { decryptAttachment } = await import('../crypto/attachments');
  const plain = await decryptAttachment(ct, f.file);
  return new Blob([plain as BlobPart], { type: safeBlobType(f.media.type) });
}

function EncryptedFile({ f }: { f: FileRef }) {
  const m: Media = { id: f.media.id, type: f.media.type ?? '', size: f.media.size ?? 0, name: f.media.name, width: f.media.width, height: f.media.height };
  const kind = kindOf(m.type);
  const auto = kind !== 'file' && m.size <= AUTO_DECRYPT_MAX;
  const [url, setUrl] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [open, setOpen] = useState(false);
  const label = fileLabel(m);

  useEffect(() => {
    if (!auto) return;
    const ctl = new AbortController();
    let made: string | null = null;
    fetchDecrypted(f, ctl.signal)
      .then((b) => {
        made = URL.createObjectURL(b);
        setUrl(made);
      })
      .catch((err) => {
        if (!ctl.signal.aborted) setError(`Could not open this file: ${err instanceof Error ? err.message : String(err)}`);
      });
    return () => {
      ctl.abort();
      if (made) URL.revokeObjectURL(made);
    };
  }, [f, auto]);

  if (!auto || error) {
    const download = async () => {
      setBusy(true);
      setError(null);
      try {
        const b = await fetchDecrypted(f);
        const u = URL.createObjectURL(b);
        const a = document.createElement('a');
        a.href = u;
        a.download = m.name || 'file';
        a.click();
        setTimeout(() => URL.revokeObjectURL(u), 60_000);
      } catch (err) {
        setError(`Could not download this file: ${err instanceof Error ? err.message : String(err)}`);
      } finally {
        setBusy(false);
      }
    };
    return <Chip id={m.id} label={label} size={m.size} onClick={download} busy={busy} error={error ?? undefined} />;
  }
  if (kind === 'image') {
    const box = fitBox(m.width, m.height);
    return (
      <>
        <button
          type="button"
          className="block rounded-box overflow-hidden bg-base-300 max-w-full"
          style={{ width: box.width, aspectRatio: `${box.width} / ${box.height}` }}
          aria-label={`Open image ${label}`}
          title={`${label} (${formatBytes(m.size)})`}
          onClick={() => url && setOpen(true)}
          data-media-id={m.id}
          data-kind="image"
          data-encrypted
        >
          {url && <img src={url} alt={label} width={box.width} height={box.height} className="w-full h-full object-cover" />}
        </button>
        {open && url && <Lightbox title={label} src={url} download={url} name={m.name || 'image'} onClose={() => setOpen(false)} />}
      </>
    );
  }
  return (
    <figure className="max-w-full" data-media-id={m.id} data-kind={kind} data-encrypted>
      {url &&
        (kind === 'video' ? (
          <video src={url} controls preload="metadata" className="rounded-box max-w-full max-h-80 bg-black" aria-label={label} />
        ) : (
          <audio src={url} controls preload="metadata" aria-label={label} />
        ))}
      <figcaption className="text-xs opacity-80 truncate" dir="auto">
        {label} · {url ? formatBytes(m.size) : 'decrypting…'}
      </figcaption>
    </figure>
  );
}
