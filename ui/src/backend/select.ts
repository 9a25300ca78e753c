import { decodeQrImageBase64 } from '../lib/qr';
import type { Backend } from './types';

export type BackendKind = 'tauri' | 'mock';

/** Mock when not inside Tauri, or when the URL asks for it (`?backend=mock`). */
export function chooseBackendKind(win: { location: { search: string }; __TAURI_INTERNALS__?: unknown }): BackendKind {
  const asked = new URLSearchParams(win.location.search).get('backend');
  if (asked === 'mock') return 'mock';
  return win.__TAURI_INTERNALS__ === undefined ? 'mock' : 'tauri';
}

export async function selectBackend(win: Window = window): Promise<Backend> {
  const w = win as unknown as { location: Location; __TAURI_INTERNALS__?: unknown; __carekeyMock?: unknown };
  if (chooseBackendKind(w) === 'tauri') {
    const { TauriBackend } = await import('./tauri');
    return new TauriBackend();
  }
  const { MockBackend, mockOptionsFromQuery } = await import('./mock');
  // The real backend decodes images with rqrr; the mock decodes them in the page with jsQR.
  const mock = new MockBackend({ ...mockOptionsFromQuery(w.location.search), decodeImage: decodeQrImageBase64 });
  // Tests drive the mock (simulated drops, failures) through this handle.
  w.__carekeyMock = mock;
  return mock;
}
