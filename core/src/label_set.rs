//! Typed label sets: [`LabelSet`], [`LabelValue`] and [`TypedFamily`].
//!
//! # Why a struct
//!
//! A label set is a struct whose fields are the label values, with
//! `#[derive(LabelSet)]` (feature `derive`) or a hand-written impl:
//!
//! ```
//! # #[cfg(feature = "derive")] {
//! use prism_core::{Counter, LabelSet, LabelValue, Registry, TypedFamily};
//!
//! #[derive(LabelValue)]
//! #[prism(crate = "prism_core", rename_all = "UPPERCASE")]
//! enum Method { Get, Post }
//!
//! #[derive(LabelSet)]
//! #[prism(crate = "prism_core")] // not needed through the `prism` crate
//! struct Labels { method: Method, code: u16 }
//!
//! let registry = Registry::new();
//! let requests = registry.register(
//!     "http_requests",
//!     "Requests served, by method and status.",
//!     TypedFamily::<Labels, Counter>::new(),
//! )?;
//! requests.get(&Labels { method: Method::Get, code: 200 }).inc();
//! assert_eq!(requests.family().get(&["GET", "200"]).get(), 1);
//! # }
//! # Ok::<(), prism_core::Error>(())
//! ```
//!
//! The other designs were a fixed-size array (`Family` keyed by `[&str; N]`) and a tuple.
//! An array makes the arity a compile-time fact but not the order: `["200", "GET"]`
//! compiles as well as `["GET", "200"]`. A struct makes both impossible to get wrong: a
//! missing or extra field does not compile, and a value is given by its label's name, never
//! by its position. The names come from the type ([`LabelSet::NAMES`]); a
//! [`TypedFamily`] is built from them, or checked against them when made from an existing
//! [`Family`], so that the values it hands the family are always in the family's order.
//!
//! # What a lookup costs
//!
//! [`LabelSet::with_values`] lays the values out as a `[&str; N]` on the stack and runs the
//! family's own lookup on it: the same hashing and comparison as [`Family::with`] given a
//! slice, nothing allocated, and the same cost as `family.get(&[a, b, c])`, whose slice is
//! built on the stack the same way. Text fields (`&str`, `String`, a derived enum) are
//! borrowed as they are; an integer field is formatted into a stack buffer (`itoa`'s, 40
//! bytes), which the caller of the slice path would have had to do anyway, often with an
//! allocation (`code.to_string()`). `cargo bench -p prism-core --bench hot_path` measures
//! both paths on the same family in one run.

use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;
use std::rc::Rc;
use std::sync::Arc;

use crate::error::Error;
use crate::family::Family;
use crate::metric::{Kind, Metric};
use crate::read::{Descriptor, Visitor};
use crate::registry::sealed::{Collect, FamilyStats, ReadAhead, Sealed};
use crate::registry::Register;

/// A set of label values whose label names are fixed by its type: usually a struct with
/// `#[derive(LabelSet)]`, one field per label.
///
/// The derive takes the names from the fields (`r#type` is `type`;
/// `#[prism(rename = "...")]` sets another) in declaration order, and refuses at compile
/// time a name that is not a label name or appears twice. Each field's type implements
/// [`LabelValue`].
///
/// A hand-written impl must hand [`with_values`](Self::with_values) exactly one value per
/// name in [`NAMES`](Self::NAMES), in the same order: a [`TypedFamily`] relies on it, and
/// a wrong count is treated as [`Family::get`] treats one (counted, and a panic in debug
/// builds).
///
/// ```
/// use prism_core::LabelSet;
///
/// struct Route<'a> { method: &'a str, path: &'a str }
///
/// impl LabelSet for Route<'_> {
///     const NAMES: &'static [&'static str] = &["method", "path"];
///     fn with_values<R, F: FnOnce(&[&str]) -> R>(&self, f: F) -> R {
///         f(&[self.method, self.path])
///     }
/// }
/// ```
pub trait LabelSet {
    /// The label names, in the order [`with_values`](Self::with_values) gives the values.
    const NAMES: &'static [&'static str];

    /// Runs `f` on the label values, one per name of [`NAMES`](Self::NAMES), in order.
    fn with_values<R, F>(&self, f: F) -> R
    where
        F: FnOnce(&[&str]) -> R;
}

/// A type usable as one label's value: text as it is, an integer in decimal, a `bool` as
/// `true` or `false`, or an enum of unit variants with `#[derive(LabelValue)]`.
///
/// [`Buf`](Self::Buf) is the stack room the value is written into when it is not text
/// already (`()` when it is): a lookup allocates nothing for it. Floats have no impl: their
/// text is not one-to-one with their value (`1`, `1.0`, `1e0`), so a label of them would
/// split a series in two; format them on purpose and pass the text.
///
/// ```
/// use prism_core::LabelValue;
///
/// enum Outcome { Hit, Miss }
///
/// impl LabelValue for Outcome {
///     type Buf = ();
///     fn label_value<'a>(&'a self, _: &'a mut ()) -> &'a str {
///         match self { Outcome::Hit => "hit", Outcome::Miss => "miss" }
///     }
/// }
/// ```
pub trait LabelValue {
    /// Room on the stack for the text of the value; `()` for a value that is text already.
    type Buf: Default;

    /// The value as label text, written into `buf` if need be.
    fn label_value<'a>(&'a self, buf: &'a mut Self::Buf) -> &'a str;
}

impl<T: LabelValue + ?Sized> LabelValue for &T {
    type Buf = T::Buf;
    #[inline(always)]
    fn label_value<'a>(&'a self, buf: &'a mut Self::Buf) -> &'a str {
        (**self).label_value(buf)
    }
}

macro_rules! text_value {
    ($($ty:ty),*) => {$(
        impl LabelValue for $ty {
            type Buf = ();
            #[inline(always)]
            fn label_value<'a>(&'a self, _: &'a mut ()) -> &'a str {
                self
            }
        }
    )*};
}
text_value!(str, String, Box<str>, Arc<str>, Rc<str>, Cow<'_, str>);

macro_rules! integer_value {
    ($($ty:ty),*) => {$(
        impl LabelValue for $ty {
            type Buf = itoa::Buffer;
            #[inline(always)]
            fn label_value<'a>(&'a self, buf: &'a mut itoa::Buffer) -> &'a str {
                buf.format(*self)
            }
        }
    )*};
}
integer_value!(u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize);

impl LabelValue for bool {
    type Buf = ();
    #[inline(always)]
    fn label_value<'a>(&'a self, _: &'a mut ()) -> &'a str {
        if *self {
            "true"
        } else {
            "false"
        }
    }
}

impl LabelValue for char {
    type Buf = [u8; 4];
    #[inline(always)]
    fn label_value<'a>(&'a self, buf: &'a mut [u8; 4]) -> &'a str {
        self.encode_utf8(buf)
    }
}

/// A [`Family`] looked up by a [`LabelSet`] type: its label names are `L::NAMES`, so a
/// lookup can give neither too few values, nor too many, nor values in the wrong order.
///
/// It registers like the family it wraps, and [`family`](Self::family) gives that family
/// for what the typed path does not cover (lookups by slice, [`Family::clear`], the
/// counts). Cloning shares the family.
///
/// A label set with a field missing does not compile, nor does one of another type (the
/// derive writes the impls shown here by hand):
///
/// ```compile_fail,E0063
/// use prism_core::{Counter, LabelSet, TypedFamily};
///
/// struct Labels { method: &'static str, code: &'static str }
/// impl LabelSet for Labels {
///     const NAMES: &'static [&'static str] = &["method", "code"];
///     fn with_values<R, F: FnOnce(&[&str]) -> R>(&self, f: F) -> R {
///         f(&[self.method, self.code])
///     }
/// }
///
/// let requests = TypedFamily::<Labels, Counter>::new();
/// requests.get(&Labels { method: "GET" }).inc(); // missing field `code`
/// ```
///
/// ```compile_fail,E0308
/// use prism_core::{Counter, LabelSet, TypedFamily};
///
/// struct Labels { method: &'static str }
/// impl LabelSet for Labels {
///     const NAMES: &'static [&'static str] = &["method"];
///     fn with_values<R, F: FnOnce(&[&str]) -> R>(&self, f: F) -> R {
///         f(&[self.method])
///     }
/// }
/// struct Other { path: &'static str }
/// impl LabelSet for Other {
///     const NAMES: &'static [&'static str] = &["path"];
///     fn with_values<R, F: FnOnce(&[&str]) -> R>(&self, f: F) -> R {
///         f(&[self.path])
///     }
/// }
///
/// let requests = TypedFamily::<Labels, Counter>::new();
/// requests.get(&Other { path: "/" }).inc(); // mismatched types
/// ```
pub struct TypedFamily<L, M: Metric> {
    family: Family<M>,
    /// Covariant in `L`: a family of `Labels<'static>` (as registering needs) is looked up by
    /// a `Labels<'a>` borrowing values that live shorter.
    labels: PhantomData<fn() -> L>,
}

impl<L: LabelSet, M: Metric + Default> TypedFamily<L, M> {
    /// A family with the label names `L::NAMES`, the default limit (2000) and an overflow
    /// series. For another limit or policy, build a [`Family`] with
    /// [`Family::builder(L::NAMES)`](Family::builder) and make it typed with
    /// [`Family::typed`].
    pub fn new() -> Self {
        Self {
            family: Family::new(L::NAMES.iter().copied()),
            labels: PhantomData,
        }
    }
}

impl<L: LabelSet, M: Metric + Default> Default for TypedFamily<L, M> {
    fn default() -> Self {
        Self::new()
    }
}

impl<L: LabelSet, M: Metric> TypedFamily<L, M> {
    /// The handle of the series with these label values, created if it does not exist: see
    /// [`Family::get`]. Past the limit the handle is the overflow series' (or one whose
    /// updates are dropped).
    #[inline(always)]
    pub fn get(&self, labels: &L) -> M {
        labels.with_values(|values| self.family.with(values, M::clone))
    }

    /// Runs `f` on the metric of the series with these label values, without cloning the
    /// handle: see [`Family::with`].
    #[inline(always)]
    pub fn with<R>(&self, labels: &L, f: impl FnOnce(&M) -> R) -> R {
        labels.with_values(|values| self.family.with(values, f))
    }

    /// Removes the series with these label values; says whether it existed. See
    /// [`Family::remove`].
    pub fn remove(&self, labels: &L) -> bool {
        labels.with_values(|values| self.family.remove(values))
    }

    /// The family underneath, for lookups by slice and everything else a [`Family`] has.
    pub fn family(&self) -> &Family<M> {
        &self.family
    }

    /// The family underneath, no longer typed.
    pub fn into_family(self) -> Family<M> {
        self.family
    }
}

impl<M: Metric> Family<M> {
    /// This family, looked up by the label set type `L` from now on: checks that its label
    /// names are `L::NAMES`, in order.
    ///
    /// ```
    /// use prism_core::{Counter, Family, LabelSet};
    ///
    /// struct Labels { method: &'static str }
    /// impl LabelSet for Labels {
    ///     const NAMES: &'static [&'static str] = &["method"];
    ///     fn with_values<R, F: FnOnce(&[&str]) -> R>(&self, f: F) -> R {
    ///         f(&[self.method])
    ///     }
    /// }
    ///
    /// let requests = Family::<Counter>::builder(Labels::NAMES.iter().copied())
    ///     .cardinality_limit(100)
    ///     .build()?
    ///     .typed::<Labels>()?;
    /// requests.get(&Labels { method: "GET" }).inc();
    /// # Ok::<(), prism_core::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::LabelNames`] when the family's label names differ from `L::NAMES` in number,
    /// spelling or order.
    pub fn typed<L: LabelSet>(self) -> Result<TypedFamily<L, M>, Error> {
        let names = self.label_names();
        if names.len() != L::NAMES.len() || names.iter().zip(L::NAMES).any(|(a, b)| a != b) {
            return Err(Error::LabelNames {
                family: names.to_vec(),
                label_set: L::NAMES.iter().map(|s| (*s).to_owned()).collect(),
            });
        }
        Ok(TypedFamily {
            family: self,
            labels: PhantomData,
        })
    }
}

impl<L, M: Metric> Clone for TypedFamily<L, M> {
    fn clone(&self) -> Self {
        Self {
            family: self.family.clone(),
            labels: PhantomData,
        }
    }
}

impl<L, M: Metric> fmt::Debug for TypedFamily<L, M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TypedFamily")
            .field("label_set", &std::any::type_name::<L>())
            .field("family", &self.family)
            .finish()
    }
}

impl<L: LabelSet + 'static, M: Metric> Sealed for TypedFamily<L, M> {}

impl<L: LabelSet + 'static, M: Metric> Register for TypedFamily<L, M> {
    fn kind(&self) -> Kind {
        M::KIND
    }
    fn up_down(&self) -> bool {
        M::UP_DOWN
    }
    fn label_names(&self) -> &[String] {
        self.family.label_names()
    }
    fn collector(&self) -> Box<dyn Collect> {
        Box::new(self.clone())
    }
}

/// Read as the family it wraps; found again by `get_or_register` as the typed family.
impl<L: LabelSet + 'static, M: Metric> Collect for TypedFamily<L, M> {
    fn collect(&self, desc: &Descriptor, created: u64, visitor: &mut dyn Visitor) -> u64 {
        self.family.collect(desc, created, visitor)
    }
    fn read_ahead(&self) -> Option<Box<dyn ReadAhead + '_>> {
        self.family.read_ahead()
    }
    fn stats(&self) -> FamilyStats {
        self.family.stats()
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}
