import { useEffect, useRef } from 'react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { AuditPage } from '../features/audit/AuditPage';
import { BackupsSection } from '../features/backups/BackupsSection';
import { BackupTargetsPage } from '../features/backups/BackupTargetsPage';
import { logout } from '../features/auth/api/authApi';
import { useSession } from '../features/auth/hooks/useSession';
import { LoginPage } from '../features/auth/LoginPage';
import { SignupPage } from '../features/auth/SignupPage';
import { NodeMetricsSection } from '../features/metrics/NodeMetricsSection';
import { WorkloadMetricsSection } from '../features/metrics/WorkloadMetricsSection';
import { NodeSummary } from '../features/nodes/components/NodeSummary';
import { InvitesPage } from '../features/invites/InvitesPage';
import { NotificationsPage } from '../features/notifications/NotificationsPage';
import { NodesPage } from '../features/nodes/NodesPage';
import type { Workload } from '../features/workloads/api/workloadsApi';
import { WorkloadPage, type WorkloadTab } from '../features/workloads/WorkloadPage';
import { WorkloadsSection } from '../features/workloads/WorkloadsSection';
import { matchPath, navigate, usePath } from '../shared/lib/router';
import { Shell } from './Shell';
import { useLiveUpdates } from './useLiveUpdates';

export const queryClient = new QueryClient({
  defaultOptions: { queries: { staleTime: 30_000, refetchOnWindowFocus: false } },
});

/** Tabs other features add to a workload's page (the workloads feature imports none of them). */
function workloadTabs(w: Workload): WorkloadTab[] {
  // Usage charts; PostgreSQL: base backups with point-in-time recovery; S3 and custom: volume
  // snapshots.
  return [
    { id: 'metrics', label: 'Metrics', content: <WorkloadMetricsSection workload={w} /> },
    { id: 'backups', label: 'Backups', content: <BackupsSection workload={w} /> },
  ];
}

function Routes() {
  const path = usePath();
  const session = useSession();
  const publicPage = path === '/login' || path === '/signup';
  useLiveUpdates(!!session);
  // Signing out drops everything cached for that user. Only then: clearing on every render
  // without a session would also drop the public queries the sign-up page has in flight
  // (children's effects run first), leaving it waiting forever.
  const signedIn = useRef(!!session);
  useEffect(() => {
    if (!session && !publicPage) navigate('/login', { replace: true });
    if (session && publicPage) navigate('/', { replace: true });
    if (!session && signedIn.current) queryClient.clear();
    signedIn.current = !!session;
  }, [session, publicPage]);

  if (!session) return path === '/signup' ? <SignupPage /> : <LoginPage />;
  const wl = matchPath('/workloads/:id', path) ?? matchPath('/workloads/:id/:tab', path);
  const isAdmin = session.user.role === 'admin';
  const adminOnly = <p>Only administrators can see this page.</p>;
  let page;
  if (path === '/') page = (<div className="flex flex-col gap-4"><div className="flex justify-end"><NodeSummary /></div><WorkloadsSection /></div>);
  else if (path === '/nodes') page = (
    <NodesPage isAdmin={isAdmin} details={isAdmin ? (n) => <NodeMetricsSection nodeId={n.id} name={n.name} /> : undefined} />
  );
  else if (path === '/invites') page = isAdmin ? <InvitesPage /> : adminOnly;
  else if (path === '/audit') page = isAdmin ? <AuditPage /> : adminOnly;
  else if (path === '/backup-targets') page = <BackupTargetsPage />;
  else if (path === '/notifications') page = <NotificationsPage isAdmin={isAdmin} />;
  else if (wl) page = <WorkloadPage key={wl.id} id={wl.id!} tab={wl.tab} extraTabs={workloadTabs} />;
  else page = <p>Page not found.</p>;
  return <Shell session={session} path={path} onSignOut={logout}>{page}</Shell>;
}

export function App() {
  return (
    <QueryClientProvider client={queryClient}>
      <Routes />
    </QueryClientProvider>
  );
}
