// The "add a backup target" form: one of the user's S3 workloads, or an external S3 endpoint
// with keys. Checks mirror the server's (src/control/backups.cc ValidateTarget) and use its
// field names, so server field errors land on the same fields.
import type { BackupTargetRequest } from '../api/backupsApi';

export type TargetForm = {
  name: string;
  source: 'workload' | 'external';
  workload: string;
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
  bucket: string;
  prefix: string;
  check: boolean; // the server probes the target before saving it (off: saved untested)
};

export const emptyTargetForm: TargetForm = {
  name: '', source: 'workload', workload: '', endpoint: '', accessKey: '', secretKey: '', region: '', bucket: '', prefix: '', check: true,
};

const KEY = /^[A-Za-z0-9+/=_.~-]{1,256}$/;

export function validateTarget(f: TargetForm): { errors: Record<string, string>; request?: BackupTargetRequest } {
  const errors: Record<string, string> = {};
  const name = f.name.trim();
  const bucket = f.bucket.trim();
  const prefix = f.prefix.trim();
  const region = f.region.trim();
  if (!/^[a-z0-9-]{1,63}$/.test(name)) errors.name = 'Lower-case letters, digits and hyphens, at most 63.';
  if (!/^[a-z0-9.-]{3,63}$/.test(bucket)) errors.bucket = '3-63 lower-case letters, digits, dots or hyphens.';
  if (!/^[A-Za-z0-9/_.-]{0,200}$/.test(prefix) || prefix.includes('..'))
    errors.prefix = "Letters, digits, '/', '_', '.' or '-' (no '..').";
  const request: BackupTargetRequest = { name, bucket, ...(prefix ? { prefix } : {}), ...(f.check ? {} : { check: false }) };
  if (f.source === 'workload') {
    if (!f.workload) errors.workload = 'Choose one of your S3 workloads.';
    request.workload = f.workload;
  } else {
    const endpoint = f.endpoint.trim().replace(/\/+$/, '');
    if (!/^https?:\/\/[A-Za-z0-9.:[\]-]{1,253}$/.test(endpoint)) errors.endpoint = 'http(s)://host[:port], nothing after it.';
    if (!KEY.test(f.accessKey.trim())) errors.access_key = 'Required: letters, digits and +/=_.-~ only.';
    if (!KEY.test(f.secretKey)) errors.secret_key = 'Required: letters, digits and +/=_.-~ only.';
    if (!/^[a-z0-9-]{0,32}$/.test(region)) errors.region = 'Lower-case letters, digits and hyphens.';
    Object.assign(request, { endpoint, access_key: f.accessKey.trim(), secret_key: f.secretKey, ...(region ? { region } : {}) });
  }
  return Object.keys(errors).length ? { errors } : { errors, request };
}
