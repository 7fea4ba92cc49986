//! The rust-bert runtime (feature "libtorch", runtime "libtorch"): rust-bert 0.23's
//! `BertModel` on libtorch 2.4.0 (CPU), weights loaded from model.safetensors into a tch
//! `VarStore`, without the pooler (e5 pools by the mean, not the CLS dense layer).
//!
//! token ids → BertModel (positions from 0, token type 0, attention mask all ones) → mean of
//! the last hidden states over the tokens → L2 normalisation.

use std::path::Path;

use anyhow::{anyhow, Context, Result};
use rust_bert::bert::{BertConfig, BertEmbeddings, BertModel};
use tch::{nn::VarStore, Device, Kind, Tensor};

/// The model on libtorch.
pub struct Encoder {
    model: BertModel<BertEmbeddings>,
    // Owns the weights the model's tensors point into.
    _vs: VarStore,
}

// SAFETY: tch's Tensor is Send but not Sync because some of its methods change a tensor in
// place through `&self`. This type never does: after `load` (which freezes the VarStore) the
// weights are only read, by `forward_t` under `no_grad` with `train = false` (dropout off),
// and libtorch's CPU kernels may read shared tensors from several threads at once (the way
// PyTorch serves one module to many inference threads). No `&mut` or in-place call is
// reachable through a shared `Encoder`.
unsafe impl Sync for Encoder {}

impl Encoder {
    /// Build rust-bert's BertModel from `dir`/config.json and load `dir`/model.safetensors,
    /// then the fine-tuned layers of `top` over the base ones.
    /// With `depth`, only the first `depth` layers are built (the file's others are not read),
    /// so the embedding is the mean of layer `depth`'s states.
    pub fn load(
        dir: &Path,
        config_json: &[u8],
        top: Option<&super::TopLayers>,
        depth: Option<usize>,
    ) -> Result<Encoder> {
        let mut config: BertConfig =
            serde_json::from_slice(config_json).context("config.json is not a BERT config")?;
        if let Some(d) = depth {
            config.num_hidden_layers = d as i64;
        }
        // Every layer's output, for the semantic sketch's tap (a few copies of [t, 384]).
        config.output_hidden_states = Some(true);
        // One thread per message, as the pure-Rust runtime: the server runs messages side by
        // side and training embeds on a thread per core, so libtorch's own thread pool would
        // only oversubscribe the cores (measured with `herken load`: 88 against 145 short
        // messages/s at concurrency 4 on 2 cores).
        tch::set_num_threads(1);
        let mut vs = VarStore::new(Device::Cpu);
        let model =
            BertModel::<BertEmbeddings>::new_with_optional_pooler(vs.root(), &config, false);
        let weights = dir.join("model.safetensors");
        vs.load(&weights)
            .map_err(|e| anyhow!("{e}"))
            .with_context(|| format!("loading {} into rust-bert", weights.display()))?;
        if let Some(top) = top {
            overwrite_layers(&vs, top)?;
        }
        vs.freeze();
        Ok(Encoder { model, _vs: vs })
    }

    /// Embedding of a token id sequence (with `<s>`/`</s>` already in place), checked by the
    /// caller: 1 to max_position_embeddings ids, each inside the vocabulary; and the
    /// L2-normalised mean of the hidden states after `tap` layers, when asked.
    pub fn embed_ids(
        &self,
        ids: &[u32],
        tap: Option<usize>,
    ) -> Result<(Vec<f32>, Option<Vec<f32>>)> {
        let t = ids.len();
        let _no_grad = tch::no_grad_guard();
        let ids: Vec<i64> = ids.iter().map(|&i| i as i64).collect();
        let input = Tensor::from_slice(&ids).unsqueeze(0);
        let mask = Tensor::ones([1, t as i64], (Kind::Int64, Device::Cpu));
        let out = self
            .model
            .forward_t(
                Some(&input),
                Some(&mask),
                None,
                None,
                None,
                None,
                None,
                false,
            )
            .map_err(|e| anyhow!("rust-bert forward: {e}"))?;
        let pooled = |h: &Tensor| -> Result<Vec<f32>> {
            let mean = h.mean_dim(1, false, Kind::Float).squeeze_dim(0);
            let normed = &mean / mean.norm().clamp_min(1e-12);
            Vec::<f32>::try_from(normed).map_err(|e| anyhow!("reading the embedding: {e}"))
        };
        // all_hidden_states holds the output of each layer, in order (not the embeddings).
        let tapped = match (tap, &out.all_hidden_states) {
            (Some(0), _) | (None, _) => None,
            (Some(l), Some(all)) => Some(pooled(
                all.get(l - 1)
                    .ok_or_else(|| anyhow!("no output of layer {l}"))?,
            )?),
            (Some(_), None) => return Err(anyhow!("rust-bert returned no hidden states")),
        };
        Ok((pooled(&out.hidden_state)?, tapped))
    }
}

/// Copy the tensors of `top` (f16 or f32) into the variables of the same names, as f32. Every
/// tensor of the file must name a variable of the replaced layers, with the same shape, and
/// every variable of those layers must be given.
pub fn overwrite_layers(vs: &VarStore, top: &super::TopLayers) -> Result<()> {
    let st = safetensors::SafeTensors::deserialize(&top.bytes)
        .with_context(|| format!("reading {}", top.path.display()))?;
    let mut tensors = Vec::new();
    for (name, view) in st.tensors() {
        let kind = match view.dtype() {
            safetensors::Dtype::F16 => Kind::Half,
            safetensors::Dtype::F32 => Kind::Float,
            other => {
                return Err(anyhow!(
                    "{}: tensor {name} is {other:?}",
                    top.path.display()
                ))
            }
        };
        let size: Vec<i64> = view.shape().iter().map(|&x| x as i64).collect();
        let t = Tensor::f_from_data_size(view.data(), &size, kind)
            .map_err(|e| anyhow!("{}: tensor {name}: {e}", top.path.display()))?;
        tensors.push((name, t));
    }
    let vars = vs.variables();
    let prefixes: Vec<String> = top
        .layers
        .iter()
        .map(|l| format!("encoder.layer.{l}."))
        .collect();
    let mut given = 0usize;
    let _no_grad = tch::no_grad_guard();
    for (name, t) in &tensors {
        if !prefixes.iter().any(|p| name.starts_with(p)) {
            return Err(anyhow!(
                "{}: tensor {name} is not in the layers its metadata names",
                top.path.display()
            ));
        }
        let mut var = vars
            .get(name)
            .map(Tensor::shallow_clone)
            .ok_or_else(|| anyhow!("{}: tensor {name} is not a BERT weight", top.path.display()))?;
        if var.size() != t.size() {
            return Err(anyhow!(
                "{}: tensor {name} has shape {:?}, the model {:?}",
                top.path.display(),
                t.size(),
                var.size()
            ));
        }
        var.copy_(&t.to_kind(Kind::Float));
        given += 1;
    }
    let wanted = vars
        .keys()
        .filter(|n| prefixes.iter().any(|p| n.starts_with(p)))
        .count();
    if given != wanted {
        return Err(anyhow!(
            "{}: {given} tensors for the named layers, {wanted} expected",
            top.path.display()
        ));
    }
    Ok(())
}
