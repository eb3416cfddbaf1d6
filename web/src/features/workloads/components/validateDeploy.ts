// Client-side checks that mirror the server's (docs/openapi.yaml WorkloadRequest and
// src/templates/validate.cc), keyed by the same field paths the server uses in `errors`.
import type { WorkloadRequest } from '../api/workloadsApi';

export type DeployForm = {
  name: string;
  template: 'postgres' | 'minio' | 'custom';
  image: string;
  env: { key: string; value: string }[];
  command: string;
  ports: string;
  memoryMb: string;
  cpus: string;
  /** Also publish the ports on the node's loopback (the request's `publish`). */
  publish: boolean;
};

export const emptyDeployForm: DeployForm = {
  name: '', template: 'postgres', image: '', env: [], command: '', ports: '', memoryMb: '', cpus: '',
  publish: false,
};

const DNS_LABEL = /^[a-z]([a-z0-9-]*[a-z0-9])?$/;
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Splits a command line on spaces, honouring "double" and 'single' quotes. */
export function splitCommand(s: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) out.push(m[1] ?? m[2] ?? m[3] ?? '');
  return out;
}

export function validateDeploy(f: DeployForm): { errors: Record<string, string>; request?: WorkloadRequest } {
  const errors: Record<string, string> = {};
  if (!f.name) errors.name = 'Enter a name.';
  else if (f.name.length > 63) errors.name = 'At most 63 characters.';
  else if (!DNS_LABEL.test(f.name))
    errors.name = 'Lower-case letters, digits and hyphens; start with a letter, do not end with a hyphen.';
  const req: WorkloadRequest = { name: f.name, template: f.template };
  if (f.template === 'custom') {
    if (!f.image.trim()) errors.image = 'Enter an image, e.g. nginx:1.27.';
    else if (f.image.length > 255 || /\s/.test(f.image.trim())) errors.image = 'Not a valid image reference.';
    else req.image = f.image.trim();
    const cmd = splitCommand(f.command);
    if (cmd.length) req.command = cmd;
    if (f.ports.trim()) {
      const ports: number[] = [];
      f.ports.split(/[\s,]+/).filter(Boolean).forEach((p) => {
        const n = Number(p);
        if (!Number.isInteger(n) || n < 1 || n > 65535) errors.ports = `${p} is not a port (1–65535).`;
        else ports.push(n);
      });
      if (ports.length > 20) errors.ports = 'At most 20 ports.';
      req.ports = ports;
    }
  }
  const env: Record<string, string> = {};
  f.env.forEach(({ key, value }, i) => {
    if (!key && !value) return;
    if (!ENV_KEY.test(key)) errors[`env.${i}`] = 'Letters, digits and _; not starting with a digit.';
    else if (key in env) errors[`env.${i}`] = `${key} is set twice.`;
    else env[key] = value;
  });
  if (Object.keys(env).length) req.env = env;
  const resources: NonNullable<WorkloadRequest['resources']> = {};
  if (f.memoryMb) {
    const n = Number(f.memoryMb);
    if (!Number.isInteger(n) || n < 16 || n > 1048576) errors['resources.memory_mb'] = 'A whole number of MB, at least 16.';
    else resources.memory_mb = n;
  }
  if (f.cpus) {
    const n = Number(f.cpus);
    if (!Number.isFinite(n) || n < 0.01 || n > 256) errors['resources.cpus'] = 'Between 0.01 and 256.';
    else resources.cpus = n;
  }
  if (Object.keys(resources).length) req.resources = resources;
  if (f.publish) req.publish = true;
  return Object.keys(errors).length ? { errors } : { errors, request: req };
}

/** Where a server field error belongs in the form ("env.FOO" → the row whose key is FOO). */
export function formFieldFor(field: string, f: DeployForm): string {
  if (field.startsWith('env.')) {
    const i = f.env.findIndex((e) => e.key === field.slice(4));
    return i >= 0 ? `env.${i}` : 'env';
  }
  if (field.startsWith('ports')) return 'ports';
  if (field.startsWith('command')) return 'command';
  return field;
}
