"""Detection ops. NonMaxSuppression with TFLite's NON_MAX_SUPPRESSION_V4 builtin, one call per
(batch, class), ONNX's [selected, 3] rows of (batch, class, box) in the order ONNX Runtime gives them.
RoiAlign as gathers and bilinear weights (TF's CropAndResize has no TFLite builtin), sampled where
ONNX Runtime samples."""

from __future__ import annotations

import tensorflow as tf

from stages.tfops.table import op
from stages.tfops.values import Unsupported


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
    if given[2] is None:  # max_output_boxes_per_class left out: 0, nothing selected
        return tf.zeros([0, 3], tf.int64)
    limit = tf.minimum(_scalar(given[2], tf.int32, 0), count)
    iou = _scalar(given[3], tf.float32, 0.0)
    floor = _scalar(given[4], tf.float32, float("-inf"))  # no score_threshold: every score counts
    if node.attr("center_point_box", 0):
        boxes = _corners(boxes)
    boxes, scores = tf.cast(boxes, tf.float32), tf.cast(scores, tf.float32)
    rows = []
    for b in range(batches):
        for c in range(classes):
            selected, valid = tf.raw_ops.NonMaxSuppressionV4(
                boxes=boxes[b],
                scores=scores[b, c],
                max_output_size=limit,
                iou_threshold=iou,
                score_threshold=floor,
                pad_to_max_output_size=True,
            )
            selected = selected[:valid]
            zeros = tf.zeros_like(selected)
            rows.append(tf.stack([zeros + b, zeros + c, selected], axis=1))
    return tf.cast(tf.concat(rows, axis=0), tf.int64)


def _samples(start, size, bins: int, grid: int, extent: int):
    """Where RoiAlign samples one axis of each roi ([rois, bins * grid]), as ONNX Runtime does: the two
    neighbouring indices, their bilinear weights, and zero weights for samples beyond the map's border."""
    step = size / bins
    offsets = tf.constant([(b + (g + 0.5) / grid) for b in range(bins) for g in range(grid)], tf.float32)
    at = start[:, None] + offsets[None, :] * step[:, None]
    inside = tf.cast(tf.logical_and(at >= -1.0, at <= float(extent)), tf.float32)
    at = tf.maximum(at, 0.0)
    low = tf.floor(at)
    edge = low >= extent - 1
    low = tf.where(edge, float(extent - 1), low)
    high = tf.where(edge, low, low + 1)
    fraction = tf.where(edge, 0.0, at - low)
    return tf.cast(low, tf.int32), tf.cast(high, tf.int32), (1 - fraction) * inside, fraction * inside


@op("RoiAlign")
def roi_align(node, x):
    features, rois, batch = x[0], tf.cast(x[1], tf.float32), tf.cast(x[2], tf.int32)
    out_h, out_w = node.attr("output_height", 1), node.attr("output_width", 1)
    ratio, scale = node.attr("sampling_ratio", 0), node.attr("spatial_scale", 1.0)
    mode = node.attr("mode", "avg")
    half_pixel = node.attr("coordinate_transformation_mode", "half_pixel") == "half_pixel"
    if ratio <= 0:
        raise Unsupported(
            f"RoiAlign {node.name}: sampling_ratio 0 (samples per bin from each roi's size) "
            f"makes the output's sampling depend on the rois' values"
        )
    if None in features.shape[2:]:
        raise Unsupported(f"RoiAlign {node.name}: needs a static feature map size")
    height, width = features.shape[2], features.shape[3]
    offset = 0.5 if half_pixel else 0.0
    x1, y1, x2, y2 = (rois[:, i] * scale - offset for i in range(4))
    roi_w, roi_h = x2 - x1, y2 - y1
    if not half_pixel:  # output_half_pixel: rois at least one pixel wide
        roi_w, roi_h = tf.maximum(roi_w, 1.0), tf.maximum(roi_h, 1.0)
    y_low, y_high, wy_low, wy_high = _samples(y1, roi_h, out_h, ratio, height)
    x_low, x_high, wx_low, wx_high = _samples(x1, roi_w, out_w, ratio, width)
    maps = tf.cast(tf.gather(features, batch), tf.float32)  # [rois, C, H, W]
    rows = {k: tf.gather(maps, idx, axis=2, batch_dims=1) for k, idx in (("low", y_low), ("high", y_high))}
    corners = [
        tf.gather(rows[ky], idx, axis=3, batch_dims=1) * (wy[:, None, :, None] * wx[:, None, None, :])
        for ky, wy in (("low", wy_low), ("high", wy_high))
        for idx, wx in ((x_low, wx_low), (x_high, wx_high))
    ]  # each [rois, C, Sy, Sx]
    channels = features.shape[1]
    if mode == "max":  # ONNX Runtime's max: the largest weighted corner of any sample in the bin
        sampled = tf.reduce_max(tf.stack(corners), axis=0)
        pooled = tf.reduce_max(tf.reshape(sampled, [-1, out_h, ratio, out_w, ratio]), axis=[2, 4])
    else:
        sampled = tf.add_n(corners)
        pooled = tf.reduce_mean(tf.reshape(sampled, [-1, out_h, ratio, out_w, ratio]), axis=[2, 4])
    return tf.cast(tf.reshape(pooled, [-1, channels, out_h, out_w]), features.dtype)
