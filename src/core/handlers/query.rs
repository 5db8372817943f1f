//! Queries: WHO WHOIS WHOWAS ISON USERHOST LUSERS MOTD VERSION TIME ADMIN INFO STATS.
use crate::core::dispatch::{Ctx, HResult};
use crate::core::{ConnId, Outbox, World};
use crate::proto::Message;

pub fn send_lusers(_w: &World, _conn: ConnId, _out: &mut Outbox) {}
pub fn send_motd(_w: &World, _conn: ConnId, _out: &mut Outbox) {}

macro_rules! stub { ($($n:ident),*) => { $(pub fn $n(_ctx: &mut Ctx<'_>, _msg: &Message<'_>) -> HResult { Ok(()) })* } }
stub!(admin, info, ison, lusers, motd, stats, time, userhost, version, who, whois, whowas);
