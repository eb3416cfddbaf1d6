import { api, unwrap } from '../../../shared/api/client';
import type { components } from '../../../shared/api/schema';

export type Channel = components['schemas']['NotificationChannel'];
export type ChannelCreated = components['schemas']['NotificationChannelCreated'];
export type ChannelRequest = components['schemas']['NotificationChannelRequest'];
export type AlertKind = components['schemas']['AlertKind'];
export type Delivery = components['schemas']['NotificationDelivery'];
export type ChannelList = components['schemas']['NotificationChannelList'];

export const fetchChannels = () => unwrap(api.GET('/api/v1/notification-channels'));
export const createChannel = (body: ChannelRequest) =>
  unwrap(api.POST('/api/v1/notification-channels', { body }));
export const deleteChannel = (id: string) =>
  unwrap(api.DELETE('/api/v1/notification-channels/{id}', { params: { path: { id } } }));
export const testChannel = (id: string) =>
  unwrap(api.POST('/api/v1/notification-channels/{id}/test', { params: { path: { id } } }));
export const fetchDeliveries = async (id: string) =>
  (await unwrap(api.GET('/api/v1/notification-channels/{id}/deliveries', {
    params: { path: { id }, query: { limit: 20 } },
  }))).items;
