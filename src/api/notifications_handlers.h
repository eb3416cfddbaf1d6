// Notification channels over HTTP (docs/notifications.md); each the caller's own (another
// user's channel is 404):
//   GET    /api/v1/notification-channels                  list
//   POST   /api/v1/notification-channels                  create: {kind, url | email, events?}
//                                                         201; a webhook's `secret` only here
//   GET    /api/v1/notification-channels/{id}             one
//   DELETE /api/v1/notification-channels/{id}             204 (its delivery log goes with it)
//   POST   /api/v1/notification-channels/{id}/test        202: a test notification, queued
//   GET    /api/v1/notification-channels/{id}/deliveries  the log, newest first (?limit=)
// Bad input is a 400 problem naming the field; node events for a non-admin a 403; e-mail on a
// server without an SMTP relay a 409. Create and delete are audited. docs/openapi.yaml is the
// contract.
#pragma once

#include "api/api_context.h"
#include "http/router.h"
#include "notify/notification_service.h"

namespace lattice::api {

void AddNotificationRoutes(http::Router& router, ApiContext& ctx,
                           notify::NotificationService& notifications);

}  // namespace lattice::api
