//! MODE for channels and users.
use crate::core::dispatch::{Ctx, HResult};
use crate::proto::Message;

pub fn mode(_ctx: &mut Ctx<'_>, _msg: &Message<'_>) -> HResult {
    Ok(())
}
