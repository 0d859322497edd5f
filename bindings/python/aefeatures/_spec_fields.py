"""Between AutoencoderTransformer's parameters and the model spec: which parameter builds which
field, the spec a set of parameters describes, and the parameters that describe a spec."""
import numpy as np

_PARAMETER_OF_FIELD = {
    ("variant",): "variant", ("input_shape",): "input_shape", ("hidden_units",): "hidden_units",
    ("code_size",): "code_size", ("activation",): "activation", ("code_activation",): "code_activation",
    ("output_activation",): "output_activation", ("batch_norm",): "batch_norm", ("dropout",): "dropout",
    ("input_dropout",): "input_dropout", ("loss",): "loss", ("scaling",): "scaling", ("tied_weights",): "tied_weights",
    ("contamination",): "contamination", ("seed",): "random_state", ("score",): "anomaly_score",
    ("conv_blocks",): "conv_blocks", ("conv_decoder",): "conv_decoder",
    ("contractive_weight",): "contractive_weight",
    ("noise", "type"): "noise", ("noise", "level"): "noise_level",
    ("sparsity", "type"): "sparsity", ("sparsity", "target"): "sparsity_target",
    ("sparsity", "weight"): "sparsity_weight",
    ("variational", "beta"): "beta", ("variational", "warmup_epochs"): "kl_warmup_epochs",
    ("training", "optimizer"): "optimizer", ("training", "learning_rate"): "learning_rate",
    ("training", "learning_rate_schedule"): "learning_rate_schedule", ("training", "epochs"): "epochs",
    ("training", "batch_size"): "batch_size", ("training", "validation_split"): "validation_split",
    ("training", "early_stopping", "patience"): "early_stopping_patience", ("training", "clip_norm"): "clip_norm",
}


def parameter_of(path):
    """The transformer parameter that builds spec field `path` (a tuple of keys), or None."""
    for length in range(len(path), 0, -1):
        if path[:length] in _PARAMETER_OF_FIELD:
            return _PARAMETER_OF_FIELD[path[:length]]
    return None


def leaves(tree, path=()):
    """(path, value) of every leaf of a nested dict (lists are leaves)."""
    for key, value in tree.items():
        if isinstance(value, dict) and value:
            yield from leaves(value, path + (key,))
        else:
            yield path + (key,), value


def spec_path(path):
    return "spec" + "".join(f"[{key!r}]" for key in path)


def spec_of(estimator, n_features, seed):
    """The model spec the estimator's parameters describe."""
    shape = [int(n_features)] if estimator.input_shape is None else [int(d) for d in estimator.input_shape]
    if int(np.prod(shape)) != n_features:
        raise ValueError(f"input_shape {tuple(shape)} holds {int(np.prod(shape))} values but X has {n_features} features")
    spec = {
        "variant": estimator.variant, "input_shape": shape,
        "activation": estimator.activation,
        "batch_norm": estimator.batch_norm if isinstance(estimator.batch_norm, str) else bool(estimator.batch_norm),
        "dropout": float(estimator.dropout), "loss": estimator.loss,
        "scaling": estimator.scaling, "contamination": float(estimator.contamination), "seed": seed,
        "training": {"optimizer": estimator.optimizer, "learning_rate": float(estimator.learning_rate),
                     "epochs": int(estimator.epochs), "batch_size": int(estimator.batch_size),
                     "validation_split": float(estimator.validation_split)},
    }
    if estimator.conv_blocks is not None:
        spec.update(conv_blocks=[dict(block) for block in estimator.conv_blocks], conv_decoder=estimator.conv_decoder)
    else:
        spec["hidden_units"] = [int(u) for u in estimator.hidden_units]
    if estimator.code_size is not None:
        spec["code_size"] = int(estimator.code_size)
    for name in ("code_activation", "output_activation"):
        if getattr(estimator, name) is not None:
            spec[name] = getattr(estimator, name)
    if estimator.noise is not None:
        spec["noise"] = {"type": estimator.noise, **({} if estimator.noise_level is None else {"level": float(estimator.noise_level)})}
    if estimator.sparsity is not None:
        spec["sparsity"] = {"type": estimator.sparsity,
                            **({} if estimator.sparsity_target is None else {"target": float(estimator.sparsity_target)}),
                            **({} if estimator.sparsity_weight is None else {"weight": float(estimator.sparsity_weight)})}
    if estimator.beta is not None or estimator.kl_warmup_epochs is not None:
        spec["variational"] = {**({} if estimator.beta is None else {"beta": float(estimator.beta)}),
                               **({} if estimator.kl_warmup_epochs is None else {"warmup_epochs": int(estimator.kl_warmup_epochs)})}
    if estimator.contractive_weight is not None:
        spec["contractive_weight"] = float(estimator.contractive_weight)
    if estimator.early_stopping_patience is not None:
        spec["training"]["early_stopping"] = {"patience": int(estimator.early_stopping_patience)}
    if estimator.clip_norm is not None:
        spec["training"]["clip_norm"] = float(estimator.clip_norm)
    if estimator.input_dropout:
        spec["input_dropout"] = float(estimator.input_dropout)
    if estimator.anomaly_score != "reconstruction":
        spec["score"] = estimator.anomaly_score
    if estimator.tied_weights:
        spec["tied_weights"] = True
    if estimator.learning_rate_schedule is not None:
        schedule = estimator.learning_rate_schedule
        spec["training"]["learning_rate_schedule"] = {"type": schedule} if isinstance(schedule, str) else dict(schedule)
    if estimator.spec is not None:
        if not isinstance(estimator.spec, dict):
            raise ValueError(f"spec must be a dict of spec fields, got {type(estimator.spec).__name__}")
        for path, value in leaves(estimator.spec):
            parameter = parameter_of(path)
            if parameter is not None:
                raise ValueError(f"{spec_path(path)} is built by the parameter {parameter!r}; set {parameter}= instead")
            section = spec
            for key in path[:-1]:
                section = section.setdefault(key, {})
            if isinstance(value, dict):  # an empty section, e.g. "variational": {} turns it on
                section.setdefault(path[-1], {})
            else:
                section[path[-1]] = value
    return spec


def parameters_of(spec):
    """The parameters (and `spec` of the remaining fields) that build `spec`."""
    training = spec.get("training", {})
    params = dict(
        variant=spec.get("variant", "dense"), hidden_units=tuple(spec.get("hidden_units", ())),
        code_size=spec.get("code_size"), input_shape=tuple(spec["input_shape"]),
        conv_blocks=spec.get("conv_blocks") or None, conv_decoder=spec.get("conv_decoder", "upsample"),
        activation=spec.get("activation", "elu"), code_activation=spec.get("code_activation"),
        output_activation=spec.get("output_activation"), batch_norm=spec.get("batch_norm", False),
        dropout=spec.get("dropout", 0.0), loss=spec.get("loss", "mse"), scaling=spec.get("scaling", "minmax"),
        contamination=spec.get("contamination", 0.1), random_state=spec.get("seed"),
        optimizer=training.get("optimizer", "adam"), learning_rate=training.get("learning_rate", 1e-3),
        epochs=training.get("epochs", 10), batch_size=training.get("batch_size", 256),
        validation_split=training.get("validation_split", 0.0), clip_norm=training.get("clip_norm"),
        early_stopping_patience=training.get("early_stopping", {}).get("patience"),
        contractive_weight=spec.get("contractive_weight"), input_dropout=spec.get("input_dropout", 0.0),
        learning_rate_schedule=training.get("learning_rate_schedule"), anomaly_score=spec.get("score", "reconstruction"),
        tied_weights=bool(spec.get("tied_weights", False)))
    variational, noise, sparsity = spec.get("variational", {}), spec.get("noise", {}), spec.get("sparsity", {})
    params.update(beta=variational.get("beta"), kl_warmup_epochs=variational.get("warmup_epochs"),
                  noise=noise.get("type"), noise_level=noise.get("level"), sparsity=sparsity.get("type"),
                  sparsity_target=sparsity.get("target"), sparsity_weight=sparsity.get("weight"))
    rest = {}
    for path, value in leaves(spec):
        if parameter_of(path) is None:
            section = rest
            for key in path[:-1]:
                section = section.setdefault(key, {})
            section[path[-1]] = value
    params["spec"] = rest or None
    return params
