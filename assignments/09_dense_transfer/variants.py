"""Plausible wrong and correct-but-different answers for 09; the project's tests grade each."""

from autograder.building.variants import Edit, Replace, Variant

BUGS = [
    # 1. upsampling
    Variant("align_corners_swapped", "interpolation_matrix uses each align_corners formula for the other setting",
            Edit("interpolation_matrix", "if align_corners:", "if not align_corners:")),
    Variant("source_not_clamped", "align_corners=False reads before the first pixel: src not clamped at 0",
            Edit("interpolation_matrix", "src = np.maximum((i + 0.5) * (size_in / size_out) - 0.5, 0.0)",
                 "src = (i + 0.5) * (size_in / size_out) - 0.5")),
    Variant("one_sample_divides_by_zero", "interpolation_matrix with align_corners=True divides by size_out - 1 "
            "even for an output of one sample",
            Edit("interpolation_matrix",
                 "src = i * ((size_in - 1) / (size_out - 1)) if size_out > 1 else np.zeros(size_out)",
                 "src = i * ((size_in - 1) / (size_out - 1))")),
    Variant("output_size_checked_on_one_side", "conv_transpose_output_size accepts a negative output_padding and "
            "an output of 0 pixels",
            Edit("conv_transpose_output_size", "if not 0 <= output_padding < stride:", "if output_padding >= stride:"),
            Edit("conv_transpose_output_size", "if out < 1:", "if out < 0:")),
    Variant("output_size_off_by_one", "the transposed convolution's output one pixel short (the convolution's "
            "'+ 1' carried over as '- 1')",
            Edit("conv_transpose_output_size", "out = (size - 1) * stride - 2 * padding + kernel_size + output_padding",
                 "out = (size - 1) * stride - 2 * padding + kernel_size - 1 + output_padding")),
    Variant("output_padding_ignored", "conv_transpose_output_size leaves output_padding out",
            Edit("conv_transpose_output_size", "out = (size - 1) * stride - 2 * padding + kernel_size + output_padding",
                 "out = (size - 1) * stride - 2 * padding + kernel_size")),
    Variant("stride_ignored_in_backward", "conv_transpose_backward reads dx from consecutive rows and columns",
            Edit("conv_transpose_backward",
                 "window = full[:, :, p:p + stride * (height - 1) + 1:stride, q:q + stride * (width - 1) + 1:stride]",
                 "window = full[:, :, p:p + height, q:q + width]")),
    Variant("dw_written_into_w", "conv_transpose_backward collects dw in the cache's w (right values, the "
            "caller's kernel overwritten)",
            Edit("conv_transpose_backward", "dx, dw = np.zeros_like(x), np.zeros_like(w)", "dx, dw = np.zeros_like(x), w")),
    Variant("bias_gradient_per_position", "db summed over the samples only",
            Edit("conv_transpose_backward", "dout.sum(axis=(0, 2, 3))", "dout.sum(axis=0).mean(axis=(1, 2))")),
    # 2. U-Net
    Variant("skip_on_wrong_axis", "the skip connection concatenated along the height instead of the channels",
            Edit("UNet", "torch.cat([skip2, self.up2(bottom)], dim=1)", "torch.cat([skip2, self.up2(bottom)], dim=2)")),
    Variant("skip_dropped", "no skip connections: the decoder sees the upsampled map only",
            Edit("UNet", "self.dec2 = double_conv(4 * c, 2 * c)", "self.dec2 = double_conv(2 * c, 2 * c)"),
            Edit("UNet", "self.dec1 = double_conv(2 * c, c)", "self.dec1 = double_conv(c, c)"),
            Edit("UNet", "torch.cat([skip2, self.up2(bottom)], dim=1)", "self.up2(bottom)"),
            Edit("UNet", "torch.cat([skip1, self.up1(up)], dim=1)", "self.up1(up)")),
    Variant("up_layers_created_first", "UNet creates up2 and up1 before dec2 and dec1: the same layers, other "
            "initial weights",
            Edit("UNet", "        self.dec2 = double_conv(4 * c, 2 * c)\n        self.up1 = nn.ConvTranspose2d(2 * c, c, 2, stride=2)\n",
                 "        self.up1 = nn.ConvTranspose2d(2 * c, c, 2, stride=2)\n        self.dec2 = double_conv(4 * c, 2 * c)\n")),
    Variant("loader_made_every_epoch", "train makes a new DataLoader with a freshly seeded generator every epoch: "
            "every epoch repeats the first one's order",
            Edit("train", "        for inputs, labels in loader:",
                 "        for inputs, labels in DataLoader(dataset, batch_size=batch_size, shuffle=True,\n"
                 "                                         generator=torch.Generator().manual_seed(seed)):")),
    Variant("zero_grad_missing", "train never resets the gradients: each step follows their running sum",
            Edit("train", "            optimizer.zero_grad()\n", "")),
    Variant("predict_in_training_mode", "predict leaves batch norm on the statistics of the batch at hand",
            Edit("predict", "    model.eval()\n", "")),
    Variant("iou_averaged_per_image", "mean_iou counts each class in every image and averages per image",
            Replace("mean_iou", """
def mean_iou(predicted, target, num_classes):
    predicted, target = np.asarray(predicted).reshape(-1, *np.shape(target)[-2:]), np.asarray(target).reshape(-1, *np.shape(target)[-2:])
    scores = []
    for p, t in zip(predicted, target):
        ious = [np.sum((p == k) & (t == k)) / np.sum((p == k) | (t == k)) for k in range(num_classes)
                if np.sum((p == k) | (t == k))]
        scores.append(np.mean(ious))
    return float(np.mean(scores))
""")),
    Variant("iou_over_classes_in_the_target", "mean_iou averages over the classes present in the target only",
            Edit("mean_iou", "if union:", "if np.any(target == k):")),
    # 3. transfer learning
    Variant("frozen_layers_updated", "head_optimizer freezes nothing and gives Adam every parameter",
            Edit("head_optimizer", "    for parameter in model.features.parameters():\n"
                                   "        parameter.requires_grad = False\n", ""),
            Edit("head_optimizer", "torch.optim.Adam(model.head.parameters(), lr=lr)",
                 "torch.optim.Adam(model.parameters(), lr=lr)")),
    Variant("requires_grad_set_on_the_module", "model.features.requires_grad = False (a new attribute of the "
            "module, freezing nothing) with every parameter in the optimizer",
            Edit("head_optimizer", "    for parameter in model.features.parameters():\n"
                                   "        parameter.requires_grad = False\n",
                 "    model.features.requires_grad = False\n"),
            Edit("head_optimizer", "torch.optim.Adam(model.head.parameters(), lr=lr)",
                 "torch.optim.Adam(model.parameters(), lr=lr)")),
    Variant("requires_grad_left_on", "the optimizer holds the head only, but the features still get gradients",
            Edit("head_optimizer", "    for parameter in model.features.parameters():\n"
                                   "        parameter.requires_grad = False\n", "")),
    Variant("backbone_at_the_head_rate", "fine_tune_optimizer gives the features the head's learning rate",
            Edit("fine_tune_optimizer", '{"params": model.features.parameters(), "lr": backbone_lr}',
                 '{"params": model.features.parameters(), "lr": lr}')),
    Variant("features_never_unfrozen", "fine_tune_optimizer leaves requires_grad off: the features never move",
            Edit("fine_tune_optimizer", "        parameter.requires_grad = True\n", "        pass\n")),
    Variant("pretrained_head_kept", "transfer_model loads the old head too, trained for other classes",
            Edit("transfer_model", "model.features.load_state_dict(features)",
                 "model.features.load_state_dict(features)\n"
                 "    if pretrained['head.weight'].shape[0] == num_classes:\n"
                 "        model.load_state_dict(pretrained)")),
    Variant("new_head_after_loading", "transfer_model loads the whole pre-trained DigitNet(5), then puts a new "
            "nn.Linear(128, num_classes) in its head",
            Replace("transfer_model", """
def transfer_model(pretrained, num_classes):
    model = DigitNet(5)
    model.load_state_dict(pretrained)
    model.head = nn.Linear(128, num_classes)
    return model
""")),
    # 4. contrastive learning
    Variant("positive_counted_twice", "the positive added to the denominator once more",
            Edit("nt_xent_loss", "torch.logsumexp(logits, dim=1) - positives",
                 "torch.logaddexp(torch.logsumexp(logits, dim=1), positives) - positives")),
    Variant("temperature_on_one_side", "the positive's similarity in the numerator is not divided by T",
            Edit("nt_xent_loss", "torch.cat([similarity.diagonal(n), similarity.diagonal(-n)]) / temperature",
                 "torch.cat([similarity.diagonal(n), similarity.diagonal(-n)])")),
    Variant("self_in_denominator", "each row's similarity with itself left in the denominator",
            Edit("nt_xent_loss", ".masked_fill(itself, float(\"-inf\"))", "")),
    Variant("not_normalized", "dot products of the raw projections instead of cosine similarities",
            Edit("nt_xent_loss", "u = F.normalize(torch.cat([z1, z2]), dim=1)", "u = torch.cat([z1, z2])")),
    Variant("exp_then_log", "the loss computed with exp and log separately: overflows for small temperatures",
            Edit("nt_xent_loss", "return (torch.logsumexp(logits, dim=1) - positives).mean()",
                 "return (torch.log(torch.exp(logits).sum(dim=1)) - positives).mean()")),
    Variant("augment_ignores_the_generator", "augment draws from torch's global random state",
            Edit("augment", "torch.rand(*shape, generator=generator, dtype=images.dtype)",
                 "torch.rand(*shape, dtype=images.dtype)"),
            Edit("augment", "torch.randn(images.shape, generator=generator, dtype=images.dtype)",
                 "torch.randn(images.shape, dtype=images.dtype)")),
]

ALTERNATIVES = [
    Variant("loops_and_matmul", "interpolation weights in a loop over output positions, bilinear resizing with "
            "two matrix products, mean IoU from a confusion matrix",
            Replace("interpolation_matrix", """
def interpolation_matrix(size_in, size_out, align_corners=False):
    matrix = np.zeros((size_out, size_in))
    for i in range(size_out):
        if align_corners:
            src = 0.0 if size_out == 1 else i * (size_in - 1) / (size_out - 1)
        else:
            src = max((i + 0.5) * size_in / size_out - 0.5, 0.0)
        low = min(int(src), size_in - 1)
        high = min(low + 1, size_in - 1)
        matrix[i, low] += 1 - (src - low)
        matrix[i, high] += src - low
    return matrix
"""),
            Replace("bilinear_forward", """
def bilinear_forward(x, size, align_corners=False):
    rows = interpolation_matrix(x.shape[2], size[0], align_corners)
    cols = interpolation_matrix(x.shape[3], size[1], align_corners)
    return rows @ x @ cols.T, (rows, cols)
"""),
            Replace("bilinear_backward", """
def bilinear_backward(dout, cache):
    rows, cols = cache
    return rows.T @ dout @ cols
"""),
            Replace("mean_iou", """
def mean_iou(predicted, target, num_classes):
    pairs = num_classes * np.asarray(target).ravel() + np.asarray(predicted).ravel()
    confusion = np.bincount(pairs, minlength=num_classes ** 2).reshape(num_classes, num_classes)
    intersection = np.diag(confusion)
    union = confusion.sum(axis=0) + confusion.sum(axis=1) - intersection
    return float(np.mean(intersection[union > 0] / union[union > 0]))
""")),
    Variant("scatter_per_input_pixel", "the transposed convolution as loops over input pixels, scattering "
            "whole kernels into a padded output",
            Replace("conv_transpose_forward", """
def conv_transpose_forward(x, w, b, stride=1, padding=0, output_padding=0):
    n, c_in, height, width = x.shape
    c_out, kh, kw = w.shape[1:]
    h_out = conv_transpose_output_size(height, kh, stride, padding, output_padding)
    w_out = conv_transpose_output_size(width, kw, stride, padding, output_padding)
    big = np.zeros((n, c_out, (height - 1) * stride + kh + output_padding, (width - 1) * stride + kw + output_padding))
    for i in range(height):
        for j in range(width):
            big[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw] += np.tensordot(x[:, :, i, j], w, axes=(1, 0))
    out = big[:, :, padding:padding + h_out, padding:padding + w_out] + b.reshape(1, -1, 1, 1)
    return out, (x, w, stride, padding, output_padding)
"""),
            Replace("conv_transpose_backward", """
def conv_transpose_backward(dout, cache):
    x, w, stride, padding, output_padding = cache
    n, c_in, height, width = x.shape
    c_out, kh, kw = w.shape[1:]
    big = np.zeros((n, c_out, (height - 1) * stride + kh + output_padding, (width - 1) * stride + kw + output_padding))
    big[:, :, padding:padding + dout.shape[2], padding:padding + dout.shape[3]] = dout
    dx, dw = np.zeros(x.shape), np.zeros(w.shape)
    for i in range(height):
        for j in range(width):
            window = big[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            dx[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3]))
            dw += np.tensordot(x[:, :, i, j], window, axes=(0, 0))
    return dx, dw, dout.sum(axis=(0, 2, 3))
""")),
    Variant("modules_and_manual_batches", "pooling modules and a loop over levels in the U-Net, batches of "
            "indices, freezing with requires_grad_ and a filter, NT-Xent with F.cross_entropy",
            Replace("UNet", """
class UNet(nn.Module):
    def __init__(self, in_channels=1, num_classes=4, channels=8):
        super().__init__()
        self.enc1 = double_conv(in_channels, channels)
        self.enc2 = double_conv(channels, 2 * channels)
        self.bottleneck = double_conv(2 * channels, 4 * channels)
        self.up2 = nn.ConvTranspose2d(4 * channels, 2 * channels, kernel_size=2, stride=2)
        self.dec2 = double_conv(4 * channels, 2 * channels)
        self.up1 = nn.ConvTranspose2d(2 * channels, channels, kernel_size=2, stride=2)
        self.dec1 = double_conv(2 * channels, channels)
        self.head = nn.Conv2d(channels, num_classes, kernel_size=1)
        self.pool = nn.MaxPool2d(2)

    def forward(self, x):
        skips = []
        for block in (self.enc1, self.enc2):
            x = block(x)
            skips.append(x)
            x = self.pool(x)
        x = self.bottleneck(x)
        for up, block in ((self.up2, self.dec2), (self.up1, self.dec1)):
            x = block(torch.concat((skips.pop(), up(x)), 1))
        return self.head(x)
"""),
            Replace("train", """
def train(model, optimizer, X, y, epochs=10, batch_size=32, seed=0, device=None):
    model = model.to(device) if device is not None else model
    p = next(model.parameters())
    X = torch.as_tensor(np.asarray(X)).to(p.dtype)
    y = torch.as_tensor(np.asarray(y)).long()
    batches = DataLoader(TensorDataset(torch.arange(len(X))), batch_size, shuffle=True,
                         generator=torch.Generator().manual_seed(seed))
    history = []
    model.train()
    for _ in tqdm(range(epochs), disable=None):
        for (index,) in batches:
            optimizer.zero_grad(set_to_none=True)
            loss = F.nll_loss(F.log_softmax(model(X[index].to(p.device)), dim=1), y[index].to(p.device))
            loss.backward()
            optimizer.step()
            history.append(float(loss))
    return history
"""),
            Replace("head_optimizer", """
def head_optimizer(model, lr=1e-2):
    model.features.requires_grad_(False)
    return torch.optim.Adam(filter(lambda p: p.requires_grad, model.parameters()), lr=lr)
"""),
            Replace("fine_tune_optimizer", """
def fine_tune_optimizer(model, lr=1e-3, backbone_lr=1e-4):
    model.requires_grad_(True)
    groups = [dict(params=list(model.features.parameters()), lr=backbone_lr),
              dict(params=list(model.head.parameters()), lr=lr)]
    return torch.optim.Adam(groups, lr=lr)
"""),
            Replace("transfer_model", """
def transfer_model(pretrained, num_classes):
    model = DigitNet(num_classes)
    own = model.state_dict()
    own.update({k: v for k, v in pretrained.items() if not k.startswith("head.")})
    model.load_state_dict(own)
    return model
"""),
            Replace("nt_xent_loss", """
def nt_xent_loss(z1, z2, temperature=0.5):
    z = torch.cat((z1, z2))
    n = len(z1)
    similarity = F.cosine_similarity(z[:, None, :], z[None, :, :], dim=-1) / temperature
    similarity = similarity - 1e9 * torch.eye(2 * n, dtype=z.dtype, device=z.device)
    targets = torch.cat((torch.arange(n, 2 * n), torch.arange(n))).to(z.device)
    return F.cross_entropy(similarity, targets)
""")),
]
