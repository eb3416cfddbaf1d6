import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { ApiError } from '../../../shared/api/client';
import { AuthForm } from './AuthForm';

describe('AuthForm', () => {
  it('checks the password policy before calling the server', async () => {
    const submit = vi.fn();
    render(<AuthForm mode="signup" onSubmit={submit} />);
    await userEvent.type(screen.getByLabelText('Email'), 'a@example.com');
    await userEvent.type(screen.getByLabelText('Password'), 'short');
    await userEvent.click(screen.getByRole('button', { name: 'Sign up' }));
    expect(submit).not.toHaveBeenCalled();
    expect(screen.getByLabelText('Password').getAttribute('aria-invalid')).toBe('true');
    expect(screen.getByText('Use at least 10 characters.')).toBeTruthy();
  });

  it('shows the server field errors next to their field', async () => {
    const submit = vi.fn().mockRejectedValue(new ApiError({
      type: 'urn:lattice:problem:email-taken', title: 'Conflict', status: 409, detail: 'Taken.', instance: '/api/v1/auth/register',
      errors: [{ field: 'email', message: 'is already registered' }],
    }));
    render(<AuthForm mode="signup" onSubmit={submit} />);
    await userEvent.type(screen.getByLabelText('Email'), 'a@example.com');
    await userEvent.type(screen.getByLabelText('Password'), 'long enough password');
    await userEvent.click(screen.getByRole('button', { name: 'Sign up' }));
    const email = screen.getByLabelText('Email');
    expect(email.getAttribute('aria-invalid')).toBe('true');
    expect(document.getElementById(email.getAttribute('aria-describedby')!)?.textContent).toBe('is already registered');
  });

  it('asks for an invite code when the server is invite-only, and sends it trimmed', async () => {
    const submit = vi.fn().mockResolvedValue(undefined);
    render(<AuthForm mode="signup" invite={{ initial: '' }} onSubmit={submit} />);
    await userEvent.type(screen.getByLabelText('Email'), 'a@example.com');
    await userEvent.type(screen.getByLabelText('Password'), 'long enough password');
    await userEvent.click(screen.getByRole('button', { name: 'Sign up' }));
    expect(submit).not.toHaveBeenCalled();
    expect(screen.getByText('Enter the invite code you were given.')).toBeTruthy();
    await userEvent.type(screen.getByLabelText('Invite code'), '  lin_abc ');
    await userEvent.click(screen.getByRole('button', { name: 'Sign up' }));
    expect(submit).toHaveBeenCalledWith({ email: 'a@example.com', password: 'long enough password', invite: 'lin_abc' });
  });

  it('starts from the invite in the link and shows why the server refused it', async () => {
    const submit = vi.fn().mockRejectedValue(new ApiError({
      type: 'urn:lattice:problem:invite-invalid', title: 'Forbidden', status: 403,
      detail: 'The invite code is unknown, expired or already used.', instance: '/api/v1/auth/register',
      errors: [{ field: 'invite', message: 'is unknown, expired or already used' }],
    }));
    render(<AuthForm mode="signup" invite={{ initial: 'lin_from_link' }} onSubmit={submit} />);
    expect((screen.getByLabelText('Invite code') as HTMLInputElement).value).toBe('lin_from_link');
    await userEvent.type(screen.getByLabelText('Email'), 'a@example.com');
    await userEvent.type(screen.getByLabelText('Password'), 'long enough password');
    await userEvent.click(screen.getByRole('button', { name: 'Sign up' }));
    const code = screen.getByLabelText('Invite code');
    expect(code.getAttribute('aria-invalid')).toBe('true');
    expect(document.getElementById(code.getAttribute('aria-describedby')!)?.textContent).toBe('is unknown, expired or already used');
  });

  it('says so when the server wants an invite the form did not ask for', async () => {
    const submit = vi.fn().mockRejectedValue(new ApiError({
      type: 'urn:lattice:problem:invite-required', title: 'Forbidden', status: 403,
      detail: 'This server is invite-only: sign up with an invite code from its administrator.',
      instance: '/api/v1/auth/register', errors: [{ field: 'invite', message: 'is required' }],
    }));
    render(<AuthForm mode="signup" onSubmit={submit} />);
    expect(screen.queryByLabelText('Invite code')).toBeNull();
    await userEvent.type(screen.getByLabelText('Email'), 'a@example.com');
    await userEvent.type(screen.getByLabelText('Password'), 'long enough password');
    await userEvent.click(screen.getByRole('button', { name: 'Sign up' }));
    expect((await screen.findByRole('alert')).textContent).toContain('invite-only');
  });
});
