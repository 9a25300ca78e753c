/** QR decoding in the page (camera frames; the mock's image decoding) with jsQR. */
import jsQR from 'jsqr';

/** Text of the QR code in an RGBA frame, or `null`. */
export function decodeQrFrame(data: Uint8ClampedArray, width: number, height: number): string | null {
  const code = jsQR(data, width, height, { inversionAttempts: 'attemptBoth' });
  return code && code.data ? code.data : null;
}

/** Text of the QR code in an image given as base64 (PNG, JPEG, …), or `null`. */
export async function decodeQrImageBase64(base64: string): Promise<string | null> {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(new Blob([bytes]));
  } catch {
    return null;
  }
  const canvas = document.createElement('canvas');
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) return null;
  ctx.drawImage(bitmap, 0, 0);
  const frame = ctx.getImageData(0, 0, canvas.width, canvas.height);
  return decodeQrFrame(frame.data, frame.width, frame.height);
}

/** Base64 of a file's bytes (FileReader, so large images do not block the window). */
export function fileToBase64(file: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onerror = () => reject(reader.error ?? new Error('could not read the file'));
    reader.onload = () => {
      const url = String(reader.result);
      resolve(url.slice(url.indexOf(',') + 1));
    };
    reader.readAsDataURL(file);
  });
}

/** An `<img>`-safe data URL for SVG markup from the backend: never inserted as markup. */
export function svgDataUrl(svg: string): string {
  // The backend's QR SVG is ASCII: the native btoa takes it as it is (a 25 KB kit in well under
  // a millisecond); only other text goes through UTF-8 bytes one by one.
  if (/^[\x00-\x7f]*$/.test(svg)) return `data:image/svg+xml;base64,${btoa(svg)}`;
  const bytes = new TextEncoder().encode(svg);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return `data:image/svg+xml;base64,${btoa(binary)}`;
}
