//! The binary heap and small-slice sort of Go's `container/heap` and `sort.Sort`, step for
//! step, so `topk`/`bottomk` choose among equal values and order their output exactly as
//! Prometheus does (its comparison treats NaN as "less" than anything, which is not a total
//! order, so only the same sequence of swaps gives the same result).

/// Go's `heap.Push` after the element was appended: restores the heap by moving the last
/// element up.
pub(super) fn push<T>(heap: &mut Vec<T>, item: T, less: impl Fn(&T, &T) -> bool) {
    heap.push(item);
    let last = heap.len() - 1;
    up(heap, last, &less);
}

/// Go's `heap.Fix(h, i)`: restores the heap after element `index` changed.
pub(super) fn fix<T>(heap: &mut [T], index: usize, less: impl Fn(&T, &T) -> bool) {
    if !down(heap, index, &less) {
        up(heap, index, &less);
    }
}

fn up<T>(heap: &mut [T], mut child: usize, less: &impl Fn(&T, &T) -> bool) {
    while child > 0 {
        let parent = (child - 1) / 2;
        if !less(&heap[child], &heap[parent]) {
            break;
        }
        heap.swap(parent, child);
        child = parent;
    }
}

fn down<T>(heap: &mut [T], start: usize, less: &impl Fn(&T, &T) -> bool) -> bool {
    let len = heap.len();
    let mut parent = start;
    loop {
        let left = 2 * parent + 1;
        if left >= len {
            break;
        }
        let mut child = left;
        let right = left + 1;
        if right < len && less(&heap[right], &heap[left]) {
            child = right;
        }
        if !less(&heap[child], &heap[parent]) {
            break;
        }
        heap.swap(parent, child);
        parent = child;
    }
    parent > start
}

/// Go's `sort.Sort` for up to 12 elements (where it is an insertion sort); larger slices
/// fall back to a stable sort by `total`, a total order that agrees with `less` except
/// among elements `less` cannot tell apart.
pub(super) fn sort<T>(
    items: &mut [T],
    less: impl Fn(&T, &T) -> bool,
    total: impl Fn(&T, &T) -> std::cmp::Ordering,
) {
    const GO_INSERTION_SORT_MAX: usize = 12;
    if items.len() <= GO_INSERTION_SORT_MAX {
        for i in 1..items.len() {
            let mut j = i;
            while j > 0 && less(&items[j], &items[j - 1]) {
                items.swap(j, j - 1);
                j -= 1;
            }
        }
    } else {
        items.sort_by(total);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn is_heap(items: &[i32]) -> bool {
        (1..items.len()).all(|child| items[(child - 1) / 2] <= items[child])
    }

    #[test]
    fn push_and_fix_keep_the_smallest_on_top() {
        let less = |a: &i32, b: &i32| a < b;
        let mut heap = Vec::new();
        for value in [5, 3, 8, 1, 9, 2] {
            push(&mut heap, value, less);
            assert!(is_heap(&heap));
        }
        assert_eq!(heap[0], 1);
        heap[0] = 7;
        fix(&mut heap, 0, less);
        assert!(is_heap(&heap));
        assert_eq!(heap[0], 2);
    }

    #[test]
    fn sort_orders_small_and_large_slices() {
        let mut small = vec![3, 1, 2];
        sort(&mut small, |a, b| a < b, |a, b| a.cmp(b));
        assert_eq!(small, [1, 2, 3]);
        let mut large: Vec<i32> = (0..30).rev().collect();
        sort(&mut large, |a, b| a < b, |a, b| a.cmp(b));
        assert_eq!(large, (0..30).collect::<Vec<_>>());
    }
}
