/* lua_scripts.h -- the transition scripts of services/api/redis/lua, embedded at build time (lib.lua prepended). */
#ifndef GLANCE_LUA_SCRIPTS_H
#define GLANCE_LUA_SCRIPTS_H

#include "h2o.h"

extern const h2o_iovec_t lua_status, lua_health, lua_expire, lua_snapshot, lua_shard, lua_migrate, lua_condition,
    lua_alert_due, lua_alerts, lua_alert_lock, lua_alert_group, lua_history, lua_incident, lua_incidents, lua_log,
    lua_report, lua_latency_claim, lua_latency, lua_gateway_alert, lua_subscription, lua_notify, lua_shard_notice,
    lua_alertmanager;

#endif
