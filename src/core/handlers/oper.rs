//! Operator commands: OPER KILL WALLOPS REHASH DIE.
use crate::core::dispatch::{Ctx, HResult};
use crate::proto::Message;

pub fn oper(_ctx: &mut Ctx<'_>, _msg: &Message<'_>) -> HResult {
    Ok(())
}
pub fn kill(_ctx: &mut Ctx<'_>, _msg: &Message<'_>) -> HResult {
    Ok(())
}
pub fn wallops(_ctx: &mut Ctx<'_>, _msg: &Message<'_>) -> HResult {
    Ok(())
}
pub fn rehash(_ctx: &mut Ctx<'_>, _msg: &Message<'_>) -> HResult {
    Ok(())
}
pub fn die(_ctx: &mut Ctx<'_>, _msg: &Message<'_>) -> HResult {
    Ok(())
}
