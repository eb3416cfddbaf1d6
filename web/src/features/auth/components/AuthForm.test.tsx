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
});
