import { describe, expect, it } from 'vitest';
import { emptyDeployForm, formFieldFor, splitCommand, validateDeploy } from './validateDeploy';

describe('validateDeploy', () => {
  it('requires a DNS label name, like the server', () => {
    for (const bad of ['', 'Bad_Name', '1abc', 'abc-', 'a'.repeat(64)])
      expect(validateDeploy({ ...emptyDeployForm, name: bad }).errors.name).toBeTruthy();
    expect(validateDeploy({ ...emptyDeployForm, name: 'orders-db' }).request).toEqual({ name: 'orders-db', template: 'postgres' });
  });

  it('builds a custom request with env, command, ports and resources', () => {
    const { errors, request } = validateDeploy({
      ...emptyDeployForm, name: 'web', template: 'custom', image: 'nginx:1.27', command: 'sh -c "echo hi"',
      ports: '8080, 9090', env: [{ key: 'GREETING', value: 'hi' }], memoryMb: '64', cpus: '0.5',
    });
    expect(errors).toEqual({});
    expect(request).toEqual({
      name: 'web', template: 'custom', image: 'nginx:1.27', command: ['sh', '-c', 'echo hi'],
      ports: [8080, 9090], env: { GREETING: 'hi' }, resources: { memory_mb: 64, cpus: 0.5 },
    });
  });

  it('asks for the ports on the node only when ticked', () => {
    expect(validateDeploy({ ...emptyDeployForm, name: 'db' }).request).toEqual({ name: 'db', template: 'postgres' });
    expect(validateDeploy({ ...emptyDeployForm, name: 'db', publish: true }).request)
      .toEqual({ name: 'db', template: 'postgres', publish: true });
  });

  it('reports every bad field at once', () => {
    const { errors, request } = validateDeploy({
      ...emptyDeployForm, name: 'x', template: 'custom', image: '', ports: '70000',
      env: [{ key: '1BAD', value: '' }], memoryMb: '8', cpus: '0',
    });
    expect(request).toBeUndefined();
    expect(Object.keys(errors).sort()).toEqual(['env.0', 'image', 'ports', 'resources.cpus', 'resources.memory_mb']);
  });

  it('maps server field paths onto form fields', () => {
    const f = { ...emptyDeployForm, env: [{ key: 'A', value: '' }, { key: 'PGUSER', value: 'x' }] };
    expect(formFieldFor('env.PGUSER', f)).toBe('env.1');
    expect(formFieldFor('ports[0].port', f)).toBe('ports');
    expect(formFieldFor('name', f)).toBe('name');
    expect(splitCommand(`sh -c 'a b'`)).toEqual(['sh', '-c', 'a b']);
  });
});
