// Every TanStack Query key the console uses, in one place.
export const queryKeys = {
  me: ['auth', 'me'] as const,
  workloads: ['workloads'] as const,
  workload: (id: string) => ['workloads', id] as const,
  workloadEvents: (id: string) => ['workloads', id, 'events'] as const,
  nodes: ['nodes'] as const,
  authConfig: ['auth', 'config'] as const,
  invites: ['invites'] as const,
  audit: ['audit'] as const,
  backupTargets: ['backup-targets'] as const,
  backupPolicy: (workloadId: string) => ['workloads', workloadId, 'backup-policy'] as const,
  backups: (workloadId: string) => ['workloads', workloadId, 'backups'] as const,
  workloadProbes: (workloadId: string) => ['workloads', workloadId, 'probes'] as const,
  workloadMetrics: (workloadId: string, range: string) => ['workloads', workloadId, 'metrics', range] as const,
  notificationChannels: ['notification-channels'] as const,
  notificationDeliveries: (channelId: string) => ['notification-channels', channelId, 'deliveries'] as const,
  nodeMetrics: (nodeId: string, range: string) => ['nodes', nodeId, 'metrics', range] as const,
};
