import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { CredentialsPanel } from './CredentialsPanel';

const creds = { username: 'app', password: 's3cret-pass', connection_string: 'postgres://app:s3cret-pass@127.0.0.1:5432/app' };

describe('CredentialsPanel', () => {
  it('hides secrets until revealed', async () => {
    render(<CredentialsPanel credentials={creds} />);
    expect(screen.getByLabelText('Password').textContent).not.toContain('s3cret');
    expect(screen.getByLabelText('Connection string').textContent).not.toContain('s3cret');
    expect(screen.getByLabelText('Username').textContent).toBe('app');
    await userEvent.click(screen.getByRole('button', { name: 'Reveal credentials' }));
    expect(screen.getByLabelText('Password').textContent).toBe('s3cret-pass');
    expect(screen.getByLabelText('Connection string').textContent).toBe(creds.connection_string);
    await userEvent.click(screen.getByRole('button', { name: 'Hide credentials' }));
    expect(screen.getByLabelText('Password').textContent).not.toContain('s3cret');
  });

  it('copies the real value even while hidden', async () => {
    const user = userEvent.setup();
    const writeText = vi.spyOn(navigator.clipboard, 'writeText');
    render(<CredentialsPanel credentials={creds} />);
    await user.click(screen.getByRole('button', { name: 'Copy Password' }));
    expect(writeText).toHaveBeenCalledWith('s3cret-pass');
    expect(await screen.findByText('Copied')).toBeTruthy();
  });
});
