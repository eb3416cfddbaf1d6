import type { ReactNode } from 'react';
import type { Session } from '../shared/api/session';
import { Button } from '../shared/components/Button';
import { Link, navigate } from '../shared/lib/router';

export function Shell({ session, path, onSignOut, children }: {
  session: Session; path: string; onSignOut: () => Promise<void>; children: ReactNode;
}) {
  const nav = (href: string, label: string) => (
    <Link href={href} aria-current={path === href ? 'page' : undefined}
      className={`rounded px-2 py-1 text-sm ${path === href ? 'bg-slate-700 text-white' : 'text-slate-300 hover:text-white'}`}>{label}</Link>
  );
  return (
    <div className="min-h-screen">
      <header className="bg-slate-900">
        <nav aria-label="Main" className="mx-auto flex max-w-6xl items-center gap-3 px-4 py-2">
          <span className="mr-4 font-semibold text-white">Lattice</span>
          {nav('/', 'Workloads')}
          {nav('/nodes', 'Nodes')}
          {nav('/backup-targets', 'Backup targets')}
          {nav('/notifications', 'Notifications')}
          {session.user.role === 'admin' && nav('/invites', 'Invites')}
          {session.user.role === 'admin' && nav('/audit', 'Audit')}
          <span className="ml-auto text-sm text-slate-300">{session.user.email}</span>
          <Button onClick={async () => { await onSignOut(); navigate('/login', { replace: true }); }}>Sign out</Button>
        </nav>
      </header>
      <main className="mx-auto max-w-6xl px-4 py-6">{children}</main>
    </div>
  );
}
