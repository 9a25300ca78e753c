import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { BackendError, explainError, toBackendError } from '../src/backend/errors';
import { chooseBackendKind } from '../src/backend/select';
import { COMMANDS } from '../src/backend/types';

describe('backend selector', () => {
  const win = (search: string, tauri: boolean) => ({ location: { search }, ...(tauri ? { __TAURI_INTERNALS__: {} } : {}) });
  it('uses the mock outside Tauri', () => {
    expect(chooseBackendKind(win('', false))).toBe('mock');
  });
  it('uses Tauri inside Tauri', () => {
    expect(chooseBackendKind(win('', true))).toBe('tauri');
    expect(chooseBackendKind(win('?backend=tauri', true))).toBe('tauri');
  });
  it('uses the mock when asked, even inside Tauri', () => {
    expect(chooseBackendKind(win('?backend=mock', true))).toBe('mock');
    expect(chooseBackendKind(win('?scenario=locked&backend=mock', false))).toBe('mock');
  });
});

describe('error mapping', () => {
  it('keeps { code, message } rejections', () => {
    const e = toBackendError({ code: 'wrong_passphrase', message: 'wrong passphrase' });
    expect(e).toBeInstanceOf(BackendError);
    expect(e).toBeInstanceOf(Error);
    expect([e.code, e.message]).toEqual(['wrong_passphrase', 'wrong passphrase']);
  });
  it('parses JSON strings and keeps plain strings as unknown', () => {
    expect(toBackendError('{"code":"locked","message":"the wallet is locked"}').code).toBe('locked');
    const plain = toBackendError('command share not found');
    expect([plain.code, plain.message]).toEqual(['unknown', 'command share not found']);
    expect(toBackendError('').message).toBe('Unknown error');
  });
  it('maps Errors and junk', () => {
    expect(toBackendError(new TypeError('boom')).message).toBe('boom');
    expect(toBackendError(42).code).toBe('unknown');
    expect(toBackendError(null).code).toBe('unknown');
    expect(toBackendError({ code: 1, message: 'x' }).code).toBe('unknown');
  });
  it('passes BackendErrors through unchanged', () => {
    const e = new BackendError('io', 'disk full');
    expect(toBackendError(e)).toBe(e);
  });
  it('explains the codes a patient meets', () => {
    expect(explainError(new BackendError('wrong_passphrase', 'x'))).toMatch(/not right/);
    // The wallet's message is for "Technical details", never the sentence itself.
    expect(explainError(new BackendError('bad_qr', 'no QR code found'))).toMatch(/^No Carekey request could be read/);
    expect(explainError(new BackendError('bad_qr', 'no QR code found'))).not.toMatch(/no QR code found/);
    expect(explainError(new BackendError('ledger', 'node said no'))).not.toMatch(/node said no/);
    expect(explainError(new BackendError('not_a_code_we_know', 'x'))).toBe(explainError(new BackendError('unknown', 'x')));
  });
});

describe('the Tauri backend', () => {
  it('converts invoke rejections into BackendError and sends camelCase args to the contract command', async () => {
    const invoke = vi.fn(async (cmd: string, args?: unknown) => {
      if (cmd === 'unlock') throw { code: 'wrong_passphrase', message: 'wrong passphrase' };
      return { cmd, args };
    });
    vi.doMock('@tauri-apps/api/core', () => ({ invoke }));
    vi.doMock('@tauri-apps/api/event', () => ({ listen: vi.fn() }));
    vi.doMock('@tauri-apps/api/webview', () => ({ getCurrentWebview: vi.fn() }));
    const { TauriBackend } = await import('../src/backend/tauri');
    const b = new TauriBackend();
    await expect(b.unlock({ passphrase: 'nope' })).rejects.toMatchObject({ name: 'BackendError', code: 'wrong_passphrase' });
    await b.reviewRequest({ uri: null, imageBase64: 'AAAA' });
    expect(invoke).toHaveBeenLastCalledWith('review_request', { uri: null, imageBase64: 'AAAA' });
    await b.appStatus();
    expect(invoke).toHaveBeenLastCalledWith('app_status', undefined);
    expect(b.pathsOfFiles()).toEqual([]);
    vi.doUnmock('@tauri-apps/api/core');
  });

  it('is the only module importing @tauri-apps, and names only commands of the contract', () => {
    const contract = readFileSync(fileURLToPath(new URL('../../docs/app-commands.md', import.meta.url)), 'utf8');
    for (const cmd of Object.values(COMMANDS)) expect(contract, cmd).toContain(`\`${cmd}\``);
    const src = fileURLToPath(new URL('../src', import.meta.url));
    const files = import.meta.glob('../src/**/*.ts', { query: '?raw', import: 'default', eager: true }) as Record<string, string>;
    const importing = Object.entries(files).filter(([, text]) => /from '@tauri-apps\//.test(text)).map(([f]) => f);
    expect(importing).toEqual(['../src/backend/tauri.ts']);
    expect(src).toBeTruthy();
  });
});
