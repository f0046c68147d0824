window.VAEBENCH_DATA = window.VAEBENCH_DATA || {};
window.VAEBENCH_DATA.medians = {"active_units":2.0,"classifier_accuracy":1.0,"elbo":-16.963345439136027,"elbo_kl":0.6834964829087258,"elbo_recon":-15.649923371315001,"gaussian_tc":0.5482880617040853,"iwae_log_px":-16.777328843024648,"label_from_z":1.0,"recon_bce":14.872807696342468,"recon_mse":0.4502472076821805};
