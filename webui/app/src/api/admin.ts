// admin.ts is the node admin API (docs/api.md, "Node administration"): the
// calls of the admin page. Every one needs a node admin's session; the
// node answers 403 to anyone else.
import { api } from './rest';

export interface AdminInfo {
  nodeAdmin: boolean;
  registration?: 'open' | 'token' | 'closed';
  federation?: 'open' | 'allowlist';
}

export interface AdminUser {
  id: string;
  username: string;
  displayName: string;
  admin: boolean;
  locked: boolean;
  deleted?: boolean;
  createdAt: string;
}

export interface Invite {
  id: string;
  createdAt: number;
  createdBy: string;
  expiresAt?: number;
  usesAllowed: number;
  uses: number;
  usable: boolean;
  note?: string;
}

export interface NodeRule {
  node: string;
  action: 'block' | 'allow';
  note?: string;
  at: string;
  by: string;
}

export interface Policy {
  mode: 'open' | 'allowlist';
  rules: NodeRule[];
}

export interface AdminRoom {
  id: string;
  name: string;
  kind: string;
  visibility: string;
  memberCount: number;
  localMembers: number;
  encrypted: boolean;
  closed?: boolean;
}

export interface AuditEntry {
  id: number;
  ts: number;
  actor: string;
  action: string;
  target?: string;
  room?: string;
  detail?: string;
}

export interface Report {
  id: string;
  ts: number;
  reporter: string;
  room?: string;
  message?: string;
  user?: string;
  reason: string;
  body?: string;
  resolved?: boolean;
  resolvedBy?: string;
  resolvedAt?: number;
  note?: string;
}

const A = '/admin';
const enc = encodeURIComponent;

export const admin = {
  info: () => api.request<AdminInfo>('GET', A),
  users: (q = '', after = '') =>
    api.request<{ users: AdminUser[]; more: boolean }>('GET', `${A}/users?${new URLSearchParams({ q, after, limit: '100' })}`),
  lock: (user: string, reason = '') => api.request<void>('POST', `${A}/users/${enc(user)}/lock`, { reason }),
  unlock: (user: string) => api.request<void>('POST', `${A}/users/${enc(user)}/unlock`, {}),
  resetPassword: (user: string) => api.request<{ password: string }>('POST', `${A}/users/${enc(user)}/password`, {}),
  setAdmin: (user: string, on: boolean) => api.request<void>(on ? 'PUT' : 'DELETE', `${A}/users/${enc(user)}/admin`),
  deleteUser: (user: string) =>
    api.request<{ messages: number; rooms: number; devices: number }>('DELETE', `${A}/users/${enc(user)}`),
  invites: () => api.request<{ invites: Invite[] }>('GET', `${A}/invites`).then((r) => r.invites ?? []),
  createInvite: (uses: number, expiresIn: number, note: string) =>
    api.request<{ token: string; invite: Invite }>('POST', `${A}/invites`, { uses, expiresIn, note }),
  revokeInvite: (id: string) => api.request<void>('DELETE', `${A}/invites/${enc(id)}`),
  policy: () => api.request<Policy>('GET', `${A}/federation`),
  setMode: (mode: 'open' | 'allowlist') => api.request<Policy>('PUT', `${A}/federation`, { mode }),
  setRule: (node: string, action: 'block' | 'allow', note = '') =>
    api.request<void>('PUT', `${A}/federation/nodes/${enc(node)}`, { action, note }),
  clearRule: (node: string) => api.request<void>('DELETE', `${A}/federation/nodes/${enc(node)}`),
  rooms: () => api.request<{ rooms: AdminRoom[] }>('GET', `${A}/rooms`).then((r) => r.rooms ?? []),
  closeRoom: (id: string, reason: string) => api.request<{ removed: number }>('POST', `${A}/rooms/${enc(id)}/close`, { reason }),
  reopenRoom: (id: string) => api.request<void>('POST', `${A}/rooms/${enc(id)}/reopen`, {}),
  audit: (before = 0) =>
    api.request<{ entries: AuditEntry[]; more: boolean }>('GET', `${A}/audit?limit=50${before ? `&before=${before}` : ''}`),
  reports: (all = false) =>
    api.request<{ reports: Report[]; more: boolean }>('GET', `${A}/reports${all ? '?state=all' : ''}`),
  resolveReport: (id: string, note = '') => api.request<void>('POST', `${A}/reports/${enc(id)}/resolve`, { note }),
};
