"""Detection post-processing: NonMaxSuppression with TFLite's NON_MAX_SUPPRESSION_V4 builtin, one call per
(batch, class), ONNX's [selected, 3] rows of (batch, class, box) in the order ONNX Runtime gives them."""
from __future__ import annotations

import tensorflow as tf

from stages.tfops.graph import Unsupported
from stages.tfops.ops import op


def _scalar(value, dtype, default):
    return tf.constant(default, dtype) if value is None else tf.reshape(tf.cast(value, dtype), [])


def _corners(boxes):
    """center_point_box=1: [x_center, y_center, width, height] -> [y1, x1, y2, x2]."""
    x, y, w, h = (boxes[..., i] for i in range(4))
    return tf.stack([y - h / 2, x - w / 2, y + h / 2, x + w / 2], axis=-1)


@op("NonMaxSuppression")
def non_max_suppression(node, x):
    boxes, scores = x[0], x[1]
    given = list(x) + [None] * (5 - len(x))
    if None in (scores.shape.rank, *scores.shape) or boxes.shape.rank != 3:
        raise Unsupported(f"NonMaxSuppression {node.name}: needs static batch, class and box counts")
    batches, classes, count = scores.shape
    if given[2] is None:   # max_output_boxes_per_class left out: 0, nothing selected
        return tf.zeros([0, 3], tf.int64)
    limit = tf.minimum(_scalar(given[2], tf.int32, 0), count)
    iou = _scalar(given[3], tf.float32, 0.0)
    floor = _scalar(given[4], tf.float32, float("-inf"))   # no score_threshold: every score counts
    if node.attr("center_point_box", 0):
        boxes = _corners(boxes)
    boxes, scores = tf.cast(boxes, tf.float32), tf.cast(scores, tf.float32)
    rows = []
    for b in range(batches):
        for c in range(classes):
            selected, valid = tf.raw_ops.NonMaxSuppressionV4(
                boxes=boxes[b], scores=scores[b, c], max_output_size=limit, iou_threshold=iou,
                score_threshold=floor, pad_to_max_output_size=True)
            selected = selected[:valid]
            zeros = tf.zeros_like(selected)
            rows.append(tf.stack([zeros + b, zeros + c, selected], axis=1))
    return tf.cast(tf.concat(rows, axis=0), tf.int64)
