//! Typed IDs. A connection, a client, a channel and a server are each an index into a
//! different table; as distinct types the compiler keeps one from being used for another.
//! They are 32 bits wide: a channel's member table and a client's channel list hold them,
//! and half the width is half that memory.

use slab::Slab;
use std::fmt;
use std::marker::PhantomData;
use std::ops::{Index, IndexMut};

/// An index type for [`Slots`].
pub trait Key: Copy {
    fn from_index(i: usize) -> Self;
    fn index(self) -> usize;
}

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug, Default)]
        pub struct $name(pub u32);

        impl Key for $name {
            fn from_index(i: usize) -> Self {
                $name(u32::try_from(i).expect("fewer than 2^32 entries"))
            }
            fn index(self) -> usize {
                self.0 as usize
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id!(
    /// A local connection: the shell's slab key (its mio token).
    ConnId
);
id!(
    /// A user of the network, local or remote: an index into `World::clients`.
    ClientId
);
id!(
    /// A channel: an index into `World::channels`.
    ChanId
);
id!(
    /// A server of the network: an index into `World::servers` (not its configured
    /// numeric `sid`, which the portal protocol carries).
    ServerId
);

/// A slab whose keys are typed.
pub struct Slots<K, T> {
    slab: Slab<T>,
    _key: PhantomData<K>,
}

impl<K: Key, T> Default for Slots<K, T> {
    fn default() -> Self {
        Slots {
            slab: Slab::new(),
            _key: PhantomData,
        }
    }
}

impl<K: Key, T> Slots<K, T> {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn insert(&mut self, value: T) -> K {
        K::from_index(self.slab.insert(value))
    }
    pub fn remove(&mut self, k: K) -> T {
        self.slab.remove(k.index())
    }
    pub fn get(&self, k: K) -> Option<&T> {
        self.slab.get(k.index())
    }
    pub fn get_mut(&mut self, k: K) -> Option<&mut T> {
        self.slab.get_mut(k.index())
    }
    pub fn contains(&self, k: K) -> bool {
        self.slab.contains(k.index())
    }
    pub fn len(&self) -> usize {
        self.slab.len()
    }
    pub fn is_empty(&self) -> bool {
        self.slab.is_empty()
    }
    /// The first occupied key at or after index `from`: a cursor that survives inserts and
    /// removals (paged listings).
    pub fn next_from(&self, from: usize) -> Option<K> {
        (from..self.slab.capacity())
            .find(|&i| self.slab.contains(i))
            .map(K::from_index)
    }
    pub fn iter(&self) -> impl Iterator<Item = (K, &T)> {
        self.slab.iter().map(|(i, v)| (K::from_index(i), v))
    }
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (K, &mut T)> {
        self.slab.iter_mut().map(|(i, v)| (K::from_index(i), v))
    }
}

impl<K: Key, T> Index<K> for Slots<K, T> {
    type Output = T;
    fn index(&self, k: K) -> &T {
        &self.slab[k.index()]
    }
}

impl<K: Key, T> IndexMut<K> for Slots<K, T> {
    fn index_mut(&mut self, k: K) -> &mut T {
        &mut self.slab[k.index()]
    }
}

impl<'a, K: Key, T> IntoIterator for &'a Slots<K, T> {
    type Item = (K, &'a T);
    type IntoIter = std::iter::Map<slab::Iter<'a, T>, fn((usize, &'a T)) -> (K, &'a T)>;
    fn into_iter(self) -> Self::IntoIter {
        self.slab.iter().map(|(i, v)| (K::from_index(i), v))
    }
}

impl<K, T: fmt::Debug> fmt::Debug for Slots<K, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.slab.fmt(f)
    }
}
