//! Dotted test paths shared between the open subtests: a group's path is its
//! parent's plus one name, so recording "the result printed last" at every
//! result costs one name, not the whole depth.

use std::rc::Rc;

/// One name and the path above it.
#[derive(Debug)]
pub struct PathNode {
    name: String,
    parent: Option<Rc<PathNode>>,
}

pub type Path = Option<Rc<PathNode>>;

/// `parent` extended by `name`.
pub fn child(parent: &Path, name: &str) -> Path {
    Some(Rc::new(PathNode { name: name.to_string(), parent: parent.clone() }))
}

/// The names of `path`, outermost first.
pub fn names(path: &Path) -> Vec<String> {
    let mut names = Vec::new();
    let mut at = path.as_deref();
    while let Some(node) = at {
        names.push(node.name.clone());
        at = node.parent.as_deref();
    }
    names.reverse();
    names
}

/// `suite.case.flavour`
pub fn dotted(path: &Path) -> String {
    names(path).join(".")
}

/// Dropping a long chain link by link would recurse once per level.
impl Drop for PathNode {
    fn drop(&mut self) {
        let mut next = self.parent.take();
        while let Some(node) = next {
            match Rc::try_unwrap(node) {
                Ok(mut node) => next = node.parent.take(),
                Err(_) => break,
            }
        }
    }
}
